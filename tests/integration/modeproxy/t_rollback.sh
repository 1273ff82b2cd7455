#!/usr/bin/env bash
# --mode proxy rollback under keep-alive load. Each bad version is stopped while v1 keeps
# serving, and `upgrade` exits 1 with the reason:
#   - binds a port other than its $PORT: never answers --ready http:/ (connection refused)
#   - answers too slowly: each check times out (binds $PORT, answers after 3 s)
#   - exits at start
#   - crashes after 1 s, within --min-ready
# 0 failed requests, only v1 answered; then a good upgrade and `baton rollback`.
. "$(dirname "$0")/lib.sh"
start_proxy_master --ready http:/ --ready-timeout 1.5 --min-ready 1.5 --drain-timeout 3 -- "$APP" --version v1
load_start load --duration 10 --connections 8
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
WRONG=$(free_port)
expect_rollback "baton upgrade: generation 2 rolled back: not ready within 1500 ms \(0 of 1 workers ready; last check: cannot connect to '127\.0\.0\.1:[0-9]+': Connection refused\); generation 1 keeps serving" \
    --version v2 --listen "127.0.0.1:$WRONG"
expect_rollback "baton upgrade: generation 3 rolled back: not ready within 1500 ms \(0 of 1 workers ready; last check: GET / timed out after 1000 ms\); generation 1 keeps serving" \
    --version v3 --slow 3000
expect_rollback "baton upgrade: generation 4 rolled back: worker [0-9]+ exited with status 3 before it was ready; generation 1 keeps serving" \
    --version v4 --fail-at-start
expect_rollback "baton upgrade: generation 5 rolled back: worker [0-9]+ was killed by signal 6 \(Aborted\) during the --min-ready period; generation 1 keeps serving" \
    --version v5 --crash-after 1000
load_check load
[ "$(jq -r '.versions|keys|join(",")' "$T_DIR/load.json")" = v1 ] ||
    fail "a failed version answered requests: $(jq -c .versions "$T_DIR/load.json")"
st=$(ctl status --json)
[ "$(echo "$st" | jq '[.generations[]|select(.state=="serving")]|length')" = 1 ] ||
    fail "failed generations are still running: $(echo "$st" | jq -c '[.generations[]|{id,state}]')"

# A good upgrade, then rollback to v1's command as a new generation on a new port.
ctl upgrade -- "$APP" --version v6 >/dev/null || fail "upgrade to v6 failed"
[ "$(version_now)" = v6 ] || fail "v6 does not serve"
out=$(ctl rollback --json) || fail "rollback failed: $out"
[ "$(echo "$out" | jq .generation)" = 7 ] || fail "rollback did not start generation 7: $out"
[ "$(version_now)" = v1 ] || fail "rollback did not bring v1 back"
