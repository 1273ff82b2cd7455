#!/usr/bin/env bash
# http mode: `baton switch` from blue to green under keep-alive load. 0 failed
# requests; no request sent after the switch is answered by blue; blue is reported
# drained (0 connections) once its last in-flight request is done.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app blue;  BLUE=$APP_PORT
start_app green; GREEN=$APP_PORT
start_proxy --mode http --backend "blue/b1=127.0.0.1:$BLUE" --backend "green/g1=127.0.0.1:$GREEN"

[ "$(ctl backend list --json | jq -r .active_pool)" = blue ] || fail "first pool is not active"
[ "$(curl -s "http://127.0.0.1:$PX_PORT/")" = blue ] || fail "blue does not answer through the proxy"

"$BATON" load "http://127.0.0.1:$PX_PORT/" --duration 4 --connections 8 --json \
    >"$T_DIR/load.json" 2>"$T_DIR/load.log" &
LOAD=$!
sleep 1.5
ctl switch green --json >"$T_DIR/switch.json" || fail "switch failed"
wait $LOAD
load_ok "$T_DIR/load.json"

start=$(jq -r .start_unix_ms "$T_DIR/load.json")
switched=$(jq -r .switched_unix_ms "$T_DIR/switch.json")
blue_count=$(jq -r '.versions.blue.count // 0' "$T_DIR/load.json")
green_count=$(jq -r '.versions.green.count // 0' "$T_DIR/load.json")
blue_last=$(jq -r '.versions.blue.last_sent_ms // 0' "$T_DIR/load.json")
log "blue $blue_count, green $green_count requests; blue's last sent at +$blue_last ms," \
    "switch at +$((switched - start)) ms"
[ "$blue_count" -gt 0 ] || fail "no request reached blue before the switch"
[ "$green_count" -gt 0 ] || fail "no request reached green after the switch"
# a request answered by blue reached the proxy before the switch, so it was sent
# before it (2 ms for the rounding of both clocks to milliseconds)
[ $((start + blue_last)) -le $((switched + 2)) ] ||
    fail "blue answered a request sent $((start + blue_last - switched)) ms after the switch"

# keep-alive clients moved: blue holds no connection and is reported drained
wait_for 5 backend_is b1 drained || fail "blue not drained: $(ctl backend list --json)"
[ "$(backend_field b1 connections)" = 0 ] || fail "drained blue still has connections"
[ "$(curl -s "http://127.0.0.1:$PX_PORT/")" = green ] || fail "new request not answered by green"
grep -q "switched from pool 'blue' to 'green'" "$T_DIR/proxy.log" || fail "no switch log line"
stop_proxy
