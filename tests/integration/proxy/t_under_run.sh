#!/usr/bin/env bash
# `baton run -- baton proxy`: the proxy itself is upgraded under keep-alive load with
# 0 failed requests. The old proxy generation stops accepting, answers the requests
# in flight with Connection: close and exits; the new one inherits the listener,
# takes over the control socket and starts from the state file (where a runtime
# switch to green was saved), so its clients are answered by green.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app blue;  BLUE=$APP_PORT
start_app green; GREEN=$APP_PORT
PORT=$(free_port)
RUN_CTL=$T_DIR/run.sock
"$BATON" run --listen "127.0.0.1:$PORT" --control "$RUN_CTL" --drain-timeout 10 -- \
    "$BATON" proxy --mode http --state-file "$T_DIR/state.json" --control "$PX_CTL" \
    --backend "blue/b1=127.0.0.1:$BLUE" --backend "green/g1=127.0.0.1:$GREEN" \
    2>>"$T_DIR/run.log" &
track $!
wait_for 10 "$BATON" backend list --control "$PX_CTL" || fail "proxy under baton run did not start"
[ "$(curl -s "http://127.0.0.1:$PORT/")" = blue ] || fail "blue does not answer"

"$BATON" load "http://127.0.0.1:$PORT/" --duration 4 --connections 8 --json \
    >"$T_DIR/load.json" 2>"$T_DIR/load.log" &
LOAD=$!
sleep 1
ctl switch green >/dev/null || fail "switch failed"
sleep 0.5
"$BATON" upgrade --control "$RUN_CTL" >"$T_DIR/upgrade.out" 2>&1 || fail "upgrade failed: $(cat "$T_DIR/upgrade.out")"
wait $LOAD
load_ok "$T_DIR/load.json"
log "load: $(jq -c '{requests, failed, versions: (.versions | map_values(.count))}' "$T_DIR/load.json")"
grep -q "took over control socket" "$T_DIR/run.log" || fail "new proxy generation did not take the control socket"
grep -q "backend table restored from state file" "$T_DIR/run.log" || fail "new generation did not restore the table"
[ "$(ctl backend list --json | jq -r .active_pool)" = green ] || fail "new generation lost the switch"
[ "$(curl -s "http://127.0.0.1:$PORT/")" = green ] || fail "green does not answer after the upgrade"
