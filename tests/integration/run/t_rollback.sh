#!/usr/bin/env bash
# Rollback under keep-alive load: a new version that exits at start, one that crashes
# after 1 s (within --min-ready), and one that never becomes ready are each stopped
# while the old one keeps serving; `upgrade` exits 1 with the reason. Then a good
# upgrade, and `baton rollback` back to the previous command.
. "$(dirname "$0")/lib.sh"
start_master --workers 2 --ready-timeout 1.5 --min-ready 1.5 --drain-timeout 3 -- "$APP" --version v1
load_start load --duration 9 --connections 8
sleep 0.2

expect_rollback() { # expect_rollback PATTERN APP-ARGS...
    local pattern=$1; shift
    local out rc
    out=$(ctl upgrade -- "$APP" "$@" 2>&1); rc=$?
    log "upgrade $*: exit $rc: $out"
    [ $rc -eq 1 ] || fail "upgrade $* exited $rc, expected 1"
    echo "$out" | grep -qE "$pattern" || fail "upgrade $*: unexpected message: $out"
    [ "$(version_now)" = v1 ] || fail "v1 does not serve after the rollback of $*"
}
expect_rollback "generation 2 rolled back: worker [0-9]+ exited with status 3 before it was ready; generation 1 keeps serving" \
    --version v2 --fail-at-start
expect_rollback "generation 3 rolled back: worker [0-9]+ was killed by signal 6 \(Aborted\) during the --min-ready period; generation 1 keeps serving" \
    --version v3 --crash-after 1000
expect_rollback "generation 4 rolled back: not ready within 1500 ms \(0 of 2 workers ready\); generation 1 keeps serving" \
    --version v4 --never-ready
load_check load
[ "$(jq -r '.versions|keys|join(",")' "$T_DIR/load.json")" = v1 ] ||
    fail "a failed version answered requests: $(jq -c .versions "$T_DIR/load.json")"

# A good upgrade, then rollback to v1's command as a new generation.
ctl upgrade -- "$APP" --version v5 >/dev/null || fail "upgrade to v5 failed"
[ "$(version_now)" = v5 ] || fail "v5 does not serve"
out=$(ctl rollback --json) || fail "rollback failed: $out"
[ "$(echo "$out" | jq .generation)" = 6 ] || fail "rollback did not start generation 6: $out"
[ "$(version_now)" = v1 ] || fail "rollback did not bring v1 back"
ctl status --json | jq -e '.generations[]|select(.current)|.command|index("v1")' >/dev/null ||
    fail "status does not show v1's command as current"
