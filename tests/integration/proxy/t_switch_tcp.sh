#!/usr/bin/env bash
# tcp mode: `baton switch` under load with a new connection per request, once on the
# splice path and once on the copy path. 0 failed requests; no connection made after
# the switch is answered by blue.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app blue;  BLUE=$APP_PORT
start_app green; GREEN=$APP_PORT

for relay in splice copy; do
    log "relay path: $relay"
    start_proxy --mode tcp --relay "$relay" \
        --backend "blue/b1=127.0.0.1:$BLUE" --backend "green/g1=127.0.0.1:$GREEN"
    "$BATON" load "http://127.0.0.1:$PX_PORT/" --close --duration 3 --connections 4 --json \
        >"$T_DIR/load-$relay.json" 2>"$T_DIR/load-$relay.log" &
    LOAD=$!
    sleep 1
    ctl switch green --json >"$T_DIR/switch-$relay.json" || fail "switch failed"
    wait $LOAD
    load_ok "$T_DIR/load-$relay.json"
    start=$(jq -r .start_unix_ms "$T_DIR/load-$relay.json")
    switched=$(jq -r .switched_unix_ms "$T_DIR/switch-$relay.json")
    blue_count=$(jq -r '.versions.blue.count // 0' "$T_DIR/load-$relay.json")
    green_count=$(jq -r '.versions.green.count // 0' "$T_DIR/load-$relay.json")
    blue_conn=$(jq -r '.versions.blue.last_connected_ms // 0' "$T_DIR/load-$relay.json")
    log "$relay: blue $blue_count, green $green_count; blue's last connection at" \
        "+$blue_conn ms, switch at +$((switched - start)) ms"
    [ "$blue_count" -gt 0 ] && [ "$green_count" -gt 0 ] || fail "$relay: both versions must answer"
    [ $((start + blue_conn)) -le $((switched + 2)) ] ||
        fail "$relay: a connection made $((start + blue_conn - switched)) ms after the switch reached blue"
    wait_for 5 backend_is b1 drained || fail "$relay: blue not drained"
    stop_proxy
    rm -f "$PX_CTL"
done
