#!/usr/bin/env bash
# `baton reexec` five times under load: same master pid, same workers, 0 failed
# requests; then upgrades still work. A binary that fails its self-check is refused.
. "$(dirname "$0")/lib.sh"
start_master --workers 2 --drain-timeout 3 -- "$APP" --version v1
workers=$(worker_pids 1 | sort | tr '\n' ' ')
load_start load --duration 6 --connections 8 --close
sleep 0.3
for i in 1 2 3 4 5; do
    out=$(ctl reexec --json) || fail "reexec $i failed: $out"
    [ "$(echo "$out" | jq .pid)" = "$MASTER" ] || fail "reexec $i changed the pid: $out"
    sleep 0.3
done
load_check load
st=$(ctl status --json)
[ "$(echo "$st" | jq .pid)" = "$MASTER" ] || fail "the master's pid changed"
[ "$(echo "$st" | jq .reexecs)" = 5 ] || fail "expected 5 re-execs: $st"
[ "$(worker_pids 1 | sort | tr '\n' ' ')" = "$workers" ] || fail "the workers changed across re-exec"
ctl upgrade -- "$APP" --version v2 >/dev/null || fail "upgrade after re-exec failed"
# SIGUSR2 re-executes too.
kill -USR2 "$MASTER"
wait_for 10 sh -c "$BATON status --control $CTL --json | jq -e '.reexecs == 6'" || fail "SIGUSR2 did not re-exec"
[ "$(version_now)" = v2 ] || fail "v2 does not serve"

# Refused binaries: one that fails, one that is not baton. Nothing changes.
printf '#!/bin/sh\necho hello\n' >"$T_DIR/notbaton"
chmod +x "$T_DIR/notbaton"
out=$(ctl reexec /bin/false 2>&1) && fail "reexec of /bin/false succeeded"
echo "$out" | grep -qE "refusing to re-execute '(/usr)?/bin/false': its self-check '--version' exited with status 1" ||
    fail "unexpected message: $out"
out=$(ctl reexec "$T_DIR/notbaton" 2>&1) && fail "reexec of a non-baton binary succeeded"
echo "$out" | grep -q "printed 'hello', not 'baton VERSION'" || fail "unexpected message: $out"
[ "$(ctl status --json | jq .reexecs)" = 6 ] || fail "a refused re-exec changed the master"
[ "$(version_now)" = v2 ] || fail "v2 does not serve after refused re-execs"
