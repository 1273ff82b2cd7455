#!/usr/bin/env bash
# The admin listener is read-only without a token; with one, a state change needs POST
# and the right token, and is refused otherwise without changing anything. Covers the
# master (upgrade) and the proxy (drain, enable, switch), and a token file others can
# read, which stops baton before it serves.
. "$(dirname "$0")/../../lib/master.sh"
. "$(dirname "$0")/lib.sh"
MPORT=$(free_port)
ADMIN=http://127.0.0.1:$MPORT
TOKEN=$(token_file "$T_DIR/token")

# A token file that others may read is refused with a message naming it.
chmod 644 "$T_DIR/token"
out=$("$BATON" run --listen "127.0.0.1:$PORT" --control "$T_DIR/bad.sock" --metrics "127.0.0.1:$MPORT" \
    --admin-token-file "$T_DIR/token" -- "$APP" 2>&1) && fail "baton run started with a readable token file"
echo "$out" | grep -F "admin token file '$T_DIR/token' must be a regular file only its owner can read" >/dev/null ||
    fail "unexpected message: $out"
chmod 600 "$T_DIR/token"

# Read-only master: every change is refused, reading works.
master_start --metrics "127.0.0.1:$MPORT" -- "$APP" --version v1
[ "$(http_status GET "$ADMIN/metrics")" = 200 ] || fail "GET /metrics"
[ "$(curl -s "$ADMIN/api/status" | jq -r .read_only)" = true ] || fail "status does not say read-only"
[ "$(http_status POST "$ADMIN/api/upgrade")" = 403 ] || fail "read-only: POST upgrade not refused"
[ "$(http_status POST "$ADMIN/api/upgrade" -H "Authorization: Bearer $TOKEN")" = 403 ] ||
    fail "read-only: POST upgrade with a token not refused"
curl -s -X POST "$ADMIN/api/upgrade" | jq -e '.error | test("read-only")' >/dev/null ||
    fail "the refusal does not say the listener is read-only"
master_stop

# With a token: GET, no token, a wrong one and another scheme are refused.
master_start --metrics "127.0.0.1:$MPORT" --admin-token-file "$T_DIR/token" -- "$APP" --version v1
[ "$(curl -s "$ADMIN/api/status" | jq -r .read_only)" = false ] || fail "status says read-only"
[ "$(http_status GET "$ADMIN/api/upgrade" -H "Authorization: Bearer $TOKEN")" = 405 ] || fail "GET upgrade not refused"
[ "$(http_status POST "$ADMIN/api/upgrade")" = 401 ] || fail "no token: not refused"
[ "$(http_status POST "$ADMIN/api/upgrade" -H "Authorization: Bearer ${TOKEN}x")" = 401 ] || fail "wrong token: not refused"
[ "$(http_status POST "$ADMIN/api/upgrade" -H "Authorization: Basic $TOKEN")" = 401 ] || fail "Basic: not refused"
[ "$(http_status POST "$ADMIN/api/upgrade" -H "Authorization: Bearer $TOKEN" -d '[1]')" = 400 ] || fail "array body: not refused"
[ "$(http_status POST "$ADMIN/api/explode" -H "Authorization: Bearer $TOKEN")" = 404 ] || fail "unknown action"
status_holds '.current_generation == 1 and (.generations | length) == 1' || fail "a refused request changed something"
# The right token upgrades.
[ "$(http_status POST "$ADMIN/api/upgrade" -H "Authorization: Bearer $TOKEN")" = 202 ] || fail "upgrade with the token refused"
wait_for 60 status_holds '.current_generation == 2 and (.generations | length) == 1' ||
    fail "the upgrade asked over the admin listener did not happen: $(master_ctl status --json)"
curl -s "$ADMIN/metrics" | grep -x 'baton_upgrades_total{result="switched"} 1' >/dev/null || fail "upgrade not counted"
master_stop

# The proxy: drain and switch need the token too.
APORT=$(free_port)
PORT=$APORT "$EXAMPLES/httpapp" --version v1 2>>"$T_DIR/app.log" &
track $!
PXPORT=$(free_port) PXMPORT=$(free_port)
PXA=http://127.0.0.1:$PXMPORT
"$BATON" proxy --mode http --listen "127.0.0.1:$PXPORT" --control "$T_DIR/proxy.sock" \
    --backend "blue/b1=127.0.0.1:$APORT" --backend "green/g1=127.0.0.1:$APORT" \
    --metrics "127.0.0.1:$PXMPORT" --admin-token-file "$T_DIR/token" 2>>"$T_DIR/proxy.log" &
track $!
wait_for 10 curl -sf "http://127.0.0.1:$PXPORT/" || fail "the proxy does not answer"
active() { curl -s "$PXA/api/status" | jq -r .status.active_pool; }
state_of() { curl -s "$PXA/api/status" | jq -r --arg b "$1" '.status.backends[] | select(.name == $b) | .state'; }
[ "$(http_status POST "$PXA/api/switch" -d '{"pool":"green"}')" = 401 ] || fail "proxy switch without token"
[ "$(http_status POST "$PXA/api/drain" -H "Authorization: Bearer nope-nope-nope-nope" -d '{"backend":"b1"}')" = 401 ] ||
    fail "proxy drain with a wrong token"
[ "$(http_status POST "$PXA/api/drain" -H "Authorization: Bearer $TOKEN" -d '{"backend":"b1","spec":"x"}')" = 400 ] ||
    fail "proxy drain with an unknown field"
[ "$(active)" = blue ] && [ "$(state_of b1)" = up ] || fail "a refused request changed the proxy"
[ "$(http_status POST "$PXA/api/drain" -H "Authorization: Bearer $TOKEN" -d '{"backend":"nosuch"}')" = 409 ] ||
    fail "drain of an unknown backend not refused"
[ "$(http_status POST "$PXA/api/drain" -H "Authorization: Bearer $TOKEN" -d '{"backend":"g1"}')" = 200 ] || fail "drain g1"
[ "$(state_of g1)" = drained ] || fail "g1 is $(state_of g1) after drain"
[ "$(http_status POST "$PXA/api/enable" -H "Authorization: Bearer $TOKEN" -d '{"backend":"g1"}')" = 200 ] || fail "enable g1"
[ "$(state_of g1)" = up ] || fail "g1 is $(state_of g1) after enable"
[ "$(http_status POST "$PXA/api/switch" -H "Authorization: Bearer $TOKEN" -d '{"pool":"green"}')" = 200 ] || fail "switch"
[ "$(active)" = green ] || fail "the active pool is $(active) after the switch"
