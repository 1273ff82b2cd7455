#!/usr/bin/env bash
# A worker that dies in steady state is restarted (with backoff) and the restart is
# counted in `status`; the other worker keeps serving meanwhile.
. "$(dirname "$0")/../../lib/master.sh"
master_start --workers 2 --drain-timeout 2 -- "$APP" --version v1
pids=$(worker_pids 1)
victim=$(echo "$pids" | head -1)
kill -KILL "$victim"
restarted() {
    local now
    now=$(worker_pids 1 | sort | tr '\n' ' ')
    [ "$(echo "$now" | wc -w)" -eq 2 ] && ! echo " $now" | grep " $victim " >/dev/null
}
wait_for 60 restarted || fail "worker $victim was not replaced: $(master_ctl status --json)"
[ "$(master_ctl status --json | jq '.generations[0].restarts')" = 1 ] || fail "restart not counted"
grep -q "generation 1: restarting slot" "$T_DIR/master.log" || fail "no restart logged"
[ "$(version_now)" = v1 ] || fail "v1 does not serve after the restart"
