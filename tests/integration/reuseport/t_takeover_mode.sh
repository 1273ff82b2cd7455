#!/usr/bin/env bash
# A `baton run` after a killed master takes its workers over only in the mode they were
# started in: handoff workers inherited the master's socket, reuseport workers bound
# their own, so a master of the other mode would misread them. Started with the other
# mode it refuses (exit 1, both modes and the fix named) and leaves them serving; started
# with theirs it takes them over. Both directions.
RP_OWN_NETNS=1
. "$(dirname "$0")/lib.sh"

# ready_for MODE: the readiness options of MODE (handoff: the default).
ready_for() { [ "$1" = handoff ] || echo "--ready connect"; }

# killed_then MODE OTHER: a MODE master killed, then OTHER refused, then MODE takes over.
killed_then() {
    local mode=$1 other=$2 out rc
    # shellcheck disable=SC2046
    master_start --mode "$mode" $(ready_for "$mode") -- "$APP" --version "$mode-v1"
    local orphans
    orphans=$(worker_pids 1)
    kill -KILL "$MASTER"
    wait "$MASTER" 2>/dev/null
    version_is "$mode-v1" || fail "the orphaned $mode workers do not serve"
    # (bounded: a master that took them over would run on)
    out=$(timeout 60 "$BATON" run --listen "127.0.0.1:$PORT" --control "$CTL" --mode "$other" $(ready_for "$other") \
        -- "$APP" --version "$other-v2" 2>&1)
    rc=$?
    [ $rc = 1 ] || fail "--mode $other over $mode workers: exit $rc, want 1: $out"
    grep -q "ran --mode $mode and left 1 workers running; this one runs --mode $other and cannot take them over: start it with --mode $mode" <<<"$out" ||
        fail "--mode $other over $mode workers: unexpected message: $out"
    for p in $orphans; do kill -0 "$p" 2>/dev/null || fail "worker $p died by the refused start"; done
    version_is "$mode-v1" || fail "the $mode workers stopped serving after the refused start"
    # shellcheck disable=SC2046
    master_start --mode "$mode" $(ready_for "$mode") -- "$APP" --version "$mode-v2"
    # (master_start returns at once: the orphans answer; the log says when it took over)
    wait_for 30 grep -q "left 1 workers running: taking them over" "$T_DIR/master.log" ||
        fail "--mode $mode did not take its own workers over"
    wait_for 30 version_is "$mode-v2" || fail "--mode $mode did not serve its own version after the takeover"
    master_stop
    mv "$T_DIR/master.log" "$T_DIR/master-$mode.log.txt"
}
killed_then handoff reuseport
killed_then reuseport handoff
