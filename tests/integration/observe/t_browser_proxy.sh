#!/usr/bin/env bash
# Headless Chromium on `baton proxy`'s status page: an operator types the admin token
# into the page and clicks its "switch here" button for pool green; the same page then
# shows green active and blue's backend drained, and the proxy's table agrees.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
: "${EXAMPLES:?EXAMPLES must point to the built examples}"
TOKEN=$(token_file "$T_DIR/token")
APORT=$(free_port) BPORT=$(free_port)
PORT=$APORT "$EXAMPLES/httpapp" --version v1 2>>"$T_DIR/app.log" &
track $!
PORT=$BPORT "$EXAMPLES/httpapp" --version v2 2>>"$T_DIR/app.log" &
track $!
PXPORT=$(free_port) PXMPORT=$(free_port)
"$BATON" proxy --mode http --listen "127.0.0.1:$PXPORT" --control "$T_DIR/proxy.sock" \
    --backend "blue/b1=127.0.0.1:$APORT" --backend "green/g1=127.0.0.1:$BPORT" \
    --metrics "127.0.0.1:$PXMPORT" --admin-token-file "$T_DIR/token" 2>>"$T_DIR/proxy.log" &
track $!
wait_for 10 curl -sf "http://127.0.0.1:$PXPORT/" || fail "the proxy does not answer"
[ "$(curl -s "http://127.0.0.1:$PXPORT/" | head -1)" = v1 ] || fail "blue does not serve first"
DPORT=$(free_port)
chromedriver --port="$DPORT" --allowed-ips=127.0.0.1 >"$T_DIR/chromedriver.out" 2>&1 &
track $!
wait_for 30 curl -sf "http://127.0.0.1:$DPORT/status" || fail "chromedriver did not start"
/usr/bin/python3 "$(dirname "$0")/browser_proxy.py" "http://127.0.0.1:$DPORT" \
    "http://127.0.0.1:$PXMPORT/" "$TOKEN" blue green >"$T_DIR/browser.log" 2>&1 ||
    fail "the page did not switch the pool: $(cat "$T_DIR/browser.log")"
cat "$T_DIR/browser.log" >&2
"$BATON" backend list --json --control "$T_DIR/proxy.sock" >"$T_DIR/table.json" || fail "backend list"
jq -e '.active_pool == "green"' "$T_DIR/table.json" >/dev/null || fail "the proxy's active pool: $(jq -c . "$T_DIR/table.json")"
[ "$(curl -s "http://127.0.0.1:$PXPORT/" | head -1)" = v2 ] || fail "green does not serve after the switch"
grep -q "admin: switch done" "$T_DIR/proxy.log" || fail "the switch did not come from the admin listener"
