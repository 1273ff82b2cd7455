# `baton load` in integration tests (sources common.sh). A load runs in the
# background until its scenario is over (load_stop), never for a fixed time: it stops
# when the test says so, and a hard cap (LOAD_MAX_DURATION) only bounds a test that
# went wrong, which then fails. Each load NAME leaves $T_DIR/NAME.json (the report) and
# $T_DIR/NAME.live (the timeline, one JSON line per 100 ms, written as the run goes).
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LOAD_MAX_DURATION=${LOAD_MAX_DURATION:-5m}
declare -A LOAD_PID=()

# load_start NAME URL [LOAD OPTIONS...]: starts the load; returns once it is running.
load_start() {
    local name=$1 url=$2
    shift 2
    rm -f "$T_DIR/$name.stop"
    "$BATON" load "$url" --json --live --until-file "$T_DIR/$name.stop" \
        --max-duration "$LOAD_MAX_DURATION" "$@" >"$T_DIR/$name.json" 2>"$T_DIR/$name.live" &
    LOAD_PID[$name]=$!
    track "${LOAD_PID[$name]}"
    wait_for 60 load_answered_at_least "$name" 1 || fail "$name: no request was answered"
}

# load_start_kind NAME URL keepalive|close CONNECTIONS: the load step of the case
# drivers: load_start with CONNECTIONS keep-alive connections, or new ones per request.
load_start_kind() {
    local flags=()
    case "${3:-}" in
    keepalive) ;;
    close) flags=(--close) ;;
    *) fail "$(case_where): expected load keepalive|close CONNECTIONS" ;;
    esac
    load_start "$1" "$2" --connections "${4:?connections}" "${flags[@]}"
}

# load_answered NAME: requests answered so far (from the live timeline).
load_answered() {
    awk 'function field(k) { return match($0, "\"" k "\":[0-9]+") ? substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3) : 0 }
        /^{/ { n += field("requests") - field("failures") } END { print n + 0 }' "$T_DIR/$1.live" 2>/dev/null
}
load_answered_at_least() { [ "$(load_answered "$1")" -ge "$2" ]; }

# load_saw NAME VERSION: VERSION has answered one of the load's requests.
load_saw() { grep -qF "\"$2\":" "$T_DIR/$1.live" 2>/dev/null; }

# load_wait_version NAME VERSION: waits until VERSION answers the load (fails if it
# never does: clients would not reach it).
load_wait_version() {
    wait_for 60 load_saw "$1" "$2" || fail "$1: version $2 never answered the load"
}

# load_wait_more NAME N: waits until the load has answered N more requests than now,
# so that what the test does next happens under load.
load_wait_more() {
    local target=$(($(load_answered "$1") + $2))
    wait_for 60 load_answered_at_least "$1" "$target" ||
        fail "$1: the load stopped being answered (at $(load_answered "$1") requests)"
}

# load_stop NAME: the scenario is over: ends the load and waits for its report, which
# must say it ran until now (not to its cap).
load_stop() {
    local name=$1 f=$T_DIR/$1.json
    touch "$T_DIR/$name.stop"
    wait "${LOAD_PID[$name]}"
    [ -s "$f" ] || fail "$name: baton load printed no report: $(grep -v '^{' "$T_DIR/$name.live")"
    [ "$(jget "$f" .ended)" = until-file ] ||
        fail "$name: the load ended by '$(jget "$f" .ended)' before the scenario was over"
}

# load_check NAME: the load (stopped) answered requests and none failed.
load_check() {
    local name=$1 f=$T_DIR/$1.json failed requests
    failed=$(jget "$f" .failed)
    requests=$(jget "$f" .requests)
    log "$name: $requests requests, $failed failed, versions $(jq -c '.versions|map_values(.count)' "$f")"
    [ "$requests" -gt 0 ] || fail "$name: no requests were sent"
    [ "$failed" -eq 0 ] || fail "$name: $failed requests failed: $(jq -c .failures "$f")"
}

# load_end NAME CHECK "VERSION SWITCHED_UNIX_MS"...: the load_end step of the case
# drivers: stops the load, checks it (load_check), then runs CHECK NAME VERSION
# SWITCHED_UNIX_MS for each switch it saw (check_switch, or the driver's own).
load_end() {
    local name=$1 check=$2 s
    shift 2
    load_stop "$name"
    load_check "$name"
    for s in "$@"; do "$check" "$name" ${s}; done
    log "$name: $# switches checked"
}

# load_versions NAME: the versions that answered, sorted, comma-separated.
load_versions() { jq -r '.versions|keys|join(",")' "$T_DIR/$1.json"; }

# check_switch NAME VERSION SWITCHED_UNIX_MS: no connection opened after the old
# version stopped accepting was answered by VERSION. The load stamps a connection just
# before its connect() call (src/load/load.c), so a connection stamped after the switch
# can only reach a server still accepting after it. The 2 ms allow for the load's and
# the server's clocks being read at millisecond resolution.
CONNECT_OBSERVE_SLACK_MS=${CONNECT_OBSERVE_SLACK_MS:-2}
check_switch() {
    local f=$T_DIR/$1.json v=$2 switched=$3 conn
    conn=$(jq -r --arg v "$v" 'if .versions[$v] then .versions[$v].last_connected_ms + .start_unix_ms else 0 end' "$f")
    conn=${conn%.*}
    [ "$conn" -le "$((switched + CONNECT_OBSERVE_SLACK_MS))" ] ||
        fail "$1: version $v answered a connection made at $conn, after the switch at $switched"
}
