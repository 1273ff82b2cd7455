# The scenario every real server runs under `baton run` (sourced by the t_*.sh case
# files; not a test itself). A case file names a recipe (recipes/NAME.sh: how to start
# one version of the server, unchanged) and a load, and calls `scenario RECIPE LOAD`:
#
#   v1 serves -> load starts -> 5 upgrades (v2..v6), each exits 0 -> a broken release
#   is rolled back -> the load is stopped -> 0 failed requests, every version answered,
#   v6 answers, each old generation exited by itself (no drain-timeout kill), stop.
#
# A recipe sets:
#   NEEDS=(binary...)      programs it runs (installed through scripts/packages.txt)
#   RUN=(option...)        `baton run` options besides --listen and --control
#   release VERSION        function: sets CMD=(...) to the command of that version
#   broken_release         function: sets CMD=(...) to a release that cannot start
#   ROLLBACK_REASON=ERE    what `baton upgrade` must say when it rolls the broken one back
# and may set:
#   SWITCH_CHECK=0         readiness by a probe: `upgrade` answers when the stop signal
#                          is sent, not when the old generation stopped accepting, so
#                          no check that connections made after the switch never reach
#                          the old version (default 1)
# A case file may set, after sourcing this file:
#   LOSS_KINDS=(kind...)   the documented loss of a server that closes its open
#                          keep-alive connections when it stops: failures of these kinds
#                          are recorded, at most one per load connection and upgrade;
#                          any other failure fails the test
#   LOSS_PER_UPGRADE=N     the bound of that loss per upgrade (default: one per load
#                          connection)
#
# The load is bounded by the scenario: it runs from before the first upgrade until the
# rollback is done, then gets SIGTERM (`baton load` then reports); --duration is only
# its hard cap.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
SERVERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The example apps, copied into $T_DIR so that every process of the test names $T_DIR
# on its command line and common.sh's cleanup finds what a killed master left.
APP_DIR=$T_DIR/app
cp -r "$SERVERS_DIR/../../../examples/servers" "$APP_DIR"
CTL=$T_DIR/ctl/baton.sock
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/
UPGRADES=${UPGRADES:-5}
LOAD_CAP_S=${LOAD_CAP_S:-300}
LOAD_CONNECTIONS=${LOAD_CONNECTIONS:-8}
# The load is the measuring instrument, not what is tested: the release build when the
# runner gives one, so that it leaves the CPU to the servers starting beside it. The
# master and its proxy worker are $BATON (sanitized under `make integration`).
LOAD_BATON=${BATON_REL:-$BATON}
MASTER=
MASTER_LOG=$T_DIR/master.log
SWITCH_CHECK=1
LOSS_KINDS=()

ctl() { "$BATON" "$1" --control "$CTL" "${@:2}"; }

# The version that answers a fresh connection now.
version_now() { curl -s --max-time 5 "$URL" | head -1; }

# Stops what the test started even when it failed: a graceful stop first (the
# servers' own processes are not all our children), then any process left under the
# master.
stop_all() {
    [ -n "$MASTER" ] || return 0
    kill -0 "$MASTER" 2>/dev/null || return 0
    timeout 20 "$BATON" stop --control "$CTL" >/dev/null 2>&1
    local p
    for p in "$MASTER" $(descendants "$MASTER"); do kill -KILL "$p" 2>/dev/null; done
}
descendants() {
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done
}
on_exit stop_all

# load_recipe NAME: sources recipes/NAME.sh and checks that its programs are installed.
load_recipe() {
    local f=$SERVERS_DIR/recipes/$1.sh
    [ -f "$f" ] || fail "no recipe '$1' ($f)"
    . "$f"
    local b
    for b in "${NEEDS[@]}"; do
        command -v "$b" >/dev/null ||
            fail "'$b' is not installed: scripts/deps.sh installs it (scripts/packages.txt)"
    done
}

# start_master: `baton run` on $PORT with the recipe's options and v1; waits until v1
# answers. In --mode proxy the private ports come from a range of this test's own, so
# that tests run side by side by other jobs on the machine do not meet.
start_master() {
    local own=()
    if printf '%s\n' "${RUN[@]}" | grep -x proxy >/dev/null; then
        local lo=$((20000 + (RANDOM % 90) * 100))
        own=(--private-ports "$lo-$((lo + 99))")
    fi
    release v1
    "$BATON" run --listen "127.0.0.1:$PORT" --control "$CTL" "${own[@]}" "${RUN[@]}" -- "${CMD[@]}" \
        >>"$MASTER_LOG" 2>&1 &
    MASTER=$!
    track "$MASTER"
    wait_for 60 sh -c "curl -sf --max-time 5 $URL | grep -x v1 >/dev/null" ||
        fail "baton run did not start serving v1 on $PORT"
}

# load_start LOAD: `baton load` (keepalive or close) in the background, JSON to
# $T_DIR/load.json; returns once it is under way.
load_start() {
    local mode=()
    case $1 in
    keepalive) ;;
    close) mode=(--close) ;;
    *) fail "unknown load '$1' (keepalive or close)" ;;
    esac
    "$LOAD_BATON" load "$URL" --json --duration "$LOAD_CAP_S" --connections "$LOAD_CONNECTIONS" \
        "${mode[@]}" >"$T_DIR/load.json" 2>"$T_DIR/load.err" &
    LOAD_PID=$!
    track "$LOAD_PID"
    sleep 0.5
    kill -0 "$LOAD_PID" 2>/dev/null || fail "baton load ended at once: $(cat "$T_DIR/load.err")"
}

# load_stop: SIGTERM, then the report.
load_stop() {
    kill -TERM "$LOAD_PID" 2>/dev/null || fail "baton load ended before the scenario did (cap ${LOAD_CAP_S}s)"
    wait "$LOAD_PID"
    [ -s "$T_DIR/load.json" ] || fail "baton load printed nothing: $(cat "$T_DIR/load.err")"
}

# upgrade_to VERSION: `baton upgrade` to that release must exit 0 with the new
# generation; its JSON reply is $T_DIR/up-VERSION.json.
upgrade_to() {
    local t0=$(date +%s%3N)
    release "$1"
    ctl upgrade --json -- "${CMD[@]}" >"$T_DIR/up-$1.json" 2>"$T_DIR/up-$1.err" ||
        fail "upgrade to $1 failed: $(cat "$T_DIR/up-$1.json" "$T_DIR/up-$1.err")"
    log "upgrade to $1: generation $(jget "$T_DIR/up-$1.json" .generation), $(($(date +%s%3N) - t0)) ms"
}

# rollback_broken: the broken release is rolled back with the recipe's reason, and the
# current version keeps answering.
rollback_broken() {
    local before
    before=$(version_now)
    broken_release
    if ctl upgrade -- "${CMD[@]}" >"$T_DIR/broken.out" 2>&1; then
        fail "the broken release was not rolled back: $(cat "$T_DIR/broken.out")"
    fi
    grep -qE "rolled back: $ROLLBACK_REASON" "$T_DIR/broken.out" ||
        fail "the rollback does not say '$ROLLBACK_REASON': $(cat "$T_DIR/broken.out")"
    log "broken release: $(cat "$T_DIR/broken.out")"
    [ "$(version_now)" = "$before" ] || fail "after the rollback $(version_now) answers, not $before"
}

# check_load: 0 failed requests (or, for a recipe with a documented loss, failures of
# those kinds only, recorded in the log), and every version answered the load.
check_load() {
    local f=$T_DIR/load.json failed requests kinds=0 k
    failed=$(jget "$f" .failed)
    requests=$(jget "$f" .requests)
    log "load: $requests requests, $failed failed $(jq -c .failures "$f"), versions $(jq -c '.versions|map_values(.count)' "$f")"
    [ "$requests" -gt 0 ] || fail "no requests were sent"
    [ -z "${MEASURE:-}" ] || return 0 # measure.sh: the figure is the result
    for k in "${LOSS_KINDS[@]}"; do kinds=$((kinds + $(jget "$f" ".failures.$k"))); done
    [ "$failed" -eq "$kinds" ] || fail "$((failed - kinds)) requests failed: $(jq -c .failures "$f")"
    if [ "${#LOSS_KINDS[@]}" -gt 0 ]; then
        log "documented loss (${LOSS_KINDS[*]}): $failed of $requests requests"
        local per=${LOSS_PER_UPGRADE:-$LOAD_CONNECTIONS}
        [ "$failed" -le $((per * UPGRADES)) ] ||
            fail "$failed requests failed: more than $per per upgrade"
    fi
    local i
    for i in $(seq 1 $((UPGRADES + 1))); do
        jq -e ".versions.v$i.count > 0" "$f" >/dev/null || fail "v$i answered no request of the load"
    done
    [ "$(jq '.versions|length' "$f")" -eq $((UPGRADES + 1)) ] ||
        fail "unexpected versions answered: $(jq -c '.versions|keys' "$f")"
}

# check_switches: no connection made after an upgrade's switch was answered by the
# version it replaced (the load stamps a connection just before connect(); 2 ms for
# the two clocks' millisecond resolution).
check_switches() {
    local f=$T_DIR/load.json i switched conn
    for i in $(seq 2 $((UPGRADES + 1))); do
        switched=$(jget "$T_DIR/up-v$i.json" .switched_unix_ms)
        conn=$(jq -r ".versions.v$((i - 1)).last_connected_ms + .start_unix_ms" "$f")
        [ "${conn%.*}" -le $((switched + 2)) ] ||
            fail "v$((i - 1)) answered a connection made at ${conn%.*}, after the switch to v$i at $switched"
    done
}

# check_old_exited: every generation but the current one is gone, each by itself: it
# exited with status 0 and the master never had to kill it at the drain timeout.
check_old_exited() {
    local cur g limit
    cur=$(ctl status --json | jq .current_generation)
    limit=$(printf '%s\n' "${RUN[@]}" | grep -A1 -x -- --drain-timeout | tail -1)
    wait_for $((${limit:-30} + 10)) sh -c "$BATON status --control $CTL --json |
        jq -e '[.generations[]|select(.live > 0)]|length == 1'" ||
        fail "old generations are still running: $(ctl status --json | jq -c '[.generations[]|{id,state,live}]')"
    for g in $(seq 1 $((cur - 1))); do
        grep -q "generation $g: drain timeout" "$MASTER_LOG" &&
            fail "generation $g did not exit by itself: killed at the drain timeout"
        grep -q "generation $g exited" "$MASTER_LOG" || fail "generation $g did not exit"
        grep -E "generation $g: worker [0-9]+ (exited|was killed|ended)" "$MASTER_LOG" |
            grep -qv "exited with status 0" &&
            fail "a worker of generation $g did not exit cleanly: $(grep "generation $g: worker" "$MASTER_LOG")"
    done
    grep -q "restarting slot" "$MASTER_LOG" && fail "a worker was restarted: $(grep "restarting slot" "$MASTER_LOG")"
    return 0
}

# scenario RECIPE LOAD: the whole run (see the top of this file).
scenario() {
    load_recipe "$1"
    log "recipe $1, $2 load, $UPGRADES upgrades"
    start_master
    load_start "$2"
    local i
    for i in $(seq 2 $((UPGRADES + 1))); do upgrade_to "v$i"; done
    rollback_broken
    load_stop
    check_load
    [ "$SWITCH_CHECK" -eq 0 ] || check_switches
    [ "$(version_now)" = "v$((UPGRADES + 1))" ] || fail "v$((UPGRADES + 1)) does not answer: $(version_now)"
    check_old_exited
    stop_master
}

# stop_master: `baton stop`, and the master exits 0.
stop_master() {
    ctl stop >/dev/null || fail "baton stop failed"
    wait "$MASTER" || fail "baton run exited non-zero after stop"
    MASTER=
}

# broken_accepted: starts the master with `release v1`, then `baton upgrade` to
# `broken_release` must exit 0 (the release reported ready); sets BROKEN_GEN. For the
# tests of what goes wrong without a recipe's options.
broken_accepted() {
    start_master
    broken_release
    ctl upgrade --json -- "${CMD[@]}" >"$T_DIR/accepted.json" 2>&1 ||
        fail "the broken release was rolled back: $(cat "$T_DIR/accepted.json")"
    BROKEN_GEN=$(jget "$T_DIR/accepted.json" .generation)
}
