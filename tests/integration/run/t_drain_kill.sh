#!/usr/bin/env bash
# An old version that ignores the stop signal is killed (SIGKILL) at the drain timeout;
# the upgrade answers once it is gone, and the new version serves.
. "$(dirname "$0")/../../lib/master.sh"
master_start --workers 1 --drain-timeout 1 -- "$APP" --version v1 --ignore-term
old=$(worker_pids 1)
[ -n "$old" ] || fail "no worker in generation 1"
master_ctl upgrade --json -- "$APP" --version v2 >"$T_DIR/up.json" || fail "upgrade failed"
# The reply comes when SIGKILL was sent; the master reaps the worker right after.
gone() { ! kill -0 "$old" 2>/dev/null; }
wait_for 60 gone || fail "worker $old that ignores SIGTERM is still alive after the upgrade"
grep -q "generation 1: worker $old was killed by signal 9" "$T_DIR/master.log" ||
    fail "worker $old was not killed by SIGKILL"
grep -q "generation 1: drain timeout; killed 1 workers" "$T_DIR/master.log" ||
    fail "the master did not report the kill at the drain timeout"
[ "$(version_now)" = v2 ] || fail "v2 does not serve"
