#!/usr/bin/env bash
# --mode proxy: a proxy worker killed with SIGKILL is restarted on the same public
# socket with the current generation's port (status counts the restart); a master
# killed outright is not taken over in proxy mode: the next `baton run` refuses with
# a clear error instead of guessing.
. "$(dirname "$0")/../../lib/master.sh"
master_start_proxy --drain-timeout 3 -- "$APP" --version v1
master_ctl upgrade -- "$APP" --version v2 >/dev/null || fail "upgrade to v2 failed"
old=$(proxy_pid)
kill -KILL "$old"
wait_for 60 status_holds ".proxy.restarts == 1 and .proxy.pid > 0 and .proxy.pid != $old and .proxy.ready" ||
    fail "the proxy worker was not restarted: $(master_ctl status --json | jq -c .proxy)"
[ "$(version_now)" = v2 ] || fail "v2 does not serve through the restarted proxy worker"
grep -q "proxy worker $old was killed by signal 9 (Killed) after [0-9]* ms; restarting it in 100 ms (restart 1)" "$T_DIR/master.log" ||
    fail "no log line for the proxy worker's crash"
# The restarted worker is switched like the first one.
master_ctl upgrade -- "$APP" --version v3 >/dev/null || fail "upgrade after the proxy restart failed"
[ "$(version_now)" = v3 ] || fail "v3 does not serve"

kill -KILL "$MASTER"
wait "$MASTER" 2>/dev/null
out=$("$BATON" run --mode proxy --listen "127.0.0.1:$PORT" --control "$CTL" -- "$APP" --version v4 2>&1)
rc=$?
log "restart after SIGKILL: exit $rc"
[ $rc -eq 1 ] || fail "baton run after a killed proxy-mode master exited $rc, expected 1: $out"
grep -qE "an earlier master \(pid $MASTER\) left [0-9]+ workers and its proxy worker running; taking over after a killed master is not supported with --mode proxy" <<<"$out" ||
    fail "unexpected message: $out"
# The orphans keep serving meanwhile.
[ "$(version_now)" = v3 ] || fail "v3 stopped serving"
