# Helpers for the `baton run` integration tests (sourced; not a test itself).
# The app binary is copied into $T_DIR so that workers left by a killed master are
# found by common.sh's cleanup (pkill -f $T_DIR).
. "$(dirname "$0")/../../lib/common.sh"
: "${EXAMPLES:?EXAMPLES must point to the examples build dir}"
APP=$T_DIR/httpapp
cp "$EXAMPLES/httpapp" "$APP"
CTL=$T_DIR/ctl/baton.sock
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/
MASTER=

# start_master [RUN OPTIONS] -- COMMAND...: starts `baton run` on $PORT with $CTL and
# waits until it answers HTTP.
start_master() {
    "$BATON" run --listen "127.0.0.1:$PORT" --control "$CTL" "$@" >>"$T_DIR/master.log" 2>&1 &
    MASTER=$!
    track "$MASTER"
    wait_for 20 curl -sf "$URL" || fail "baton run did not start serving on $PORT"
}

ctl() { "$BATON" "$1" --control "$CTL" "${@:2}"; }

# The version that answers a fresh connection now.
version_now() { curl -s --max-time 5 "$URL" | head -1; }

# load_start NAME ARGS...: `baton load` in the background, JSON to $T_DIR/NAME.json.
load_start() {
    local name=$1; shift
    "$BATON" load "$URL" --json "$@" >"$T_DIR/$name.json" 2>"$T_DIR/$name.err" &
    LOAD_PID=$!
    track "$LOAD_PID"
}

# load_check NAME: the load finished with 0 failed requests (and sent some).
load_check() {
    local name=$1 f=$T_DIR/$1.json
    wait "$LOAD_PID"
    [ -s "$f" ] || fail "$name: baton load printed nothing: $(cat "$T_DIR/$name.err")"
    local failed requests
    failed=$(jget "$f" .failed)
    requests=$(jget "$f" .requests)
    log "$name: $requests requests, $failed failed, versions $(jq -c '.versions|map_values(.count)' "$f")"
    [ "$requests" -gt 0 ] || fail "$name: no requests were sent"
    [ "$failed" -eq 0 ] || fail "$name: $failed requests failed: $(jq -c .failures "$f")"
}

# check_switch LOADNAME VERSION SWITCHED_UNIX_MS: no connection opened after the old
# generation stopped accepting was answered by VERSION. The load stamps a connection
# just before its connect() call (src/load/load.c), so a connection stamped after the
# switch can only reach a generation still accepting after it. The 2 ms allow for the
# load's and the master's clocks being read at millisecond resolution.
CONNECT_OBSERVE_SLACK_MS=${CONNECT_OBSERVE_SLACK_MS:-2}
check_switch() {
    local f=$T_DIR/$1.json v=$2 switched=$3
    local conn
    conn=$(jq -r --arg v "$v" 'if .versions[$v] then .versions[$v].last_connected_ms + .start_unix_ms else 0 end' "$f")
    conn=${conn%.*}
    [ "$conn" -le "$((switched + CONNECT_OBSERVE_SLACK_MS))" ] ||
        fail "$1: version $v answered a connection made at $conn, after the switch at $switched"
    return 0
}

# worker_pids GEN: pids of the workers of generation GEN (from status --json).
worker_pids() { ctl status --json | jq -r --argjson g "$1" '.generations[]|select(.id==$g)|.workers[].pid'; }
