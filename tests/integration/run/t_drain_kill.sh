#!/usr/bin/env bash
# An old version that ignores the stop signal is killed (SIGKILL) at the drain timeout;
# the upgrade answers once it is gone, and the new version serves.
. "$(dirname "$0")/lib.sh"
start_master --workers 1 --drain-timeout 1 -- "$APP" --version v1 --ignore-term
old=$(worker_pids 1)
[ -n "$old" ] || fail "no worker in generation 1"
ctl upgrade --json -- "$APP" --version v2 >"$T_DIR/up.json" || fail "upgrade failed"
kill -0 "$old" 2>/dev/null && fail "worker $old that ignores SIGTERM is still alive after the upgrade"
grep -q "generation 1: drain timeout; killed 1 workers" "$T_DIR/master.log" ||
    fail "the master did not report the kill at the drain timeout"
[ "$(version_now)" = v2 ] || fail "v2 does not serve"
