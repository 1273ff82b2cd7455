#!/usr/bin/env bash
# The proxy as a generation under a supervisor: it takes its listener from LISTEN_FDS,
# notifies READY=1 and, on SIGTERM, STOPPING=1 once it stopped accepting; it finishes
# the request in flight (a stream) and exits 0. Runtime changes persist in the state
# file, so the next generation starts with the same table (not its --backend args).
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app blue;  BLUE=$APP_PORT
start_app green; GREEN=$APP_PORT
STATE=$T_DIR/proxy-state.json
export NOTIFY_SOCKET=$T_DIR/notify.sock
$RAW notify "$NOTIFY_SOCKET" "$T_DIR/notify.out" & track $!
wait_for 5 [ -S "$NOTIFY_SOCKET" ] || fail "notify receiver did not start"

PORT=$(free_port)
$RAW listenfds "$PORT" -- "$BATON" proxy --mode http --state-file "$STATE" --control "$PX_CTL" \
    --backend "blue/b1=127.0.0.1:$BLUE" --backend "green/g1=127.0.0.1:$GREEN" \
    2>>"$T_DIR/proxy.log" &
GEN1=$!
track $GEN1
wait_for 10 grep -qx "READY=1" "$T_DIR/notify.out" || fail "no READY=1 from the proxy"
grep -q "took 1 listening socket from LISTEN_FDS" "$T_DIR/proxy.log" || fail "LISTEN_FDS not used"
[ "$(curl -s "http://127.0.0.1:$PORT/")" = blue ] || fail "inherited listener does not serve"

ctl backend add "green/g2=127.0.0.1:$GREEN,weight=3" >/dev/null || fail "add"
ctl backend weight g1 5 >/dev/null || fail "weight"
ctl switch green >/dev/null || fail "switch"
[ "$(jq -r .active_pool "$STATE")" = green ] || fail "state file not updated: $(cat "$STATE")"
[ "$(jq -r '.backends[] | select(.name == "g2") | .weight' "$STATE")" = 3 ] || fail "g2 not in the state file"
[ "$(jq -r '.backends[] | select(.name == "b1") | .admin' "$STATE")" = drain ] || fail "b1 not drained in the state file"
ls "$T_DIR"/proxy-state.json.tmp.* >/dev/null 2>&1 && fail "temporary state file left behind"

# the next generation starts while the first still serves a stream (as `baton run`
# would start it): it takes over the control socket and restores the table from the
# state file, not from its --backend arguments
curl -sS --max-time 10 "http://127.0.0.1:$PORT/stream?ms=2000" >"$T_DIR/stream.out" 2>"$T_DIR/curl.log" &
CURL=$!
wait_for 5 client_conns_are 1 || fail "stream did not start"
PORT2=$(free_port)
$RAW listenfds "$PORT2" -- "$BATON" proxy --mode http --state-file "$STATE" --control "$PX_CTL" \
    --backend "blue/b1=127.0.0.1:$BLUE" 2>>"$T_DIR/proxy2.log" &
GEN2=$!
track $GEN2
wait_for 10 lines_are "$T_DIR/notify.out" READY=1 2 || fail "no READY=1 from generation 2"
grep -q "took over control socket" "$T_DIR/proxy2.log" || fail "generation 2 did not take the control socket"
grep -q "backend table restored from state file" "$T_DIR/proxy2.log" || fail "no restore log line"
ctl backend list --json >"$T_DIR/list.json"
[ "$(jq -r .connections "$T_DIR/list.json")" = 0 ] || fail "control requests still reach generation 1"
[ "$(jq -r .active_pool "$T_DIR/list.json")" = green ] || fail "active pool not restored"
[ "$(jq -r '[.backends[].name] | join(",")' "$T_DIR/list.json")" = "b1,g1,g2" ] || fail "table: $(cat "$T_DIR/list.json")"
[ "$(jq -r '.backends[] | select(.name == "g1") | .weight' "$T_DIR/list.json")" = 5 ] || fail "weight not restored"
[ "$(jq -r '.backends[] | select(.name == "b1") | .state' "$T_DIR/list.json")" = drained ] || fail "drain not restored"

# SIGTERM to generation 1 during the stream: STOPPING=1, no more accepting, the stream
# completes, exit status 0, and the control socket (now generation 2's) stays
kill -TERM "$(pgrep -P "$GEN1")"
wait_for 5 grep -qx "STOPPING=1" "$T_DIR/notify.out" || fail "no STOPPING=1"
port_open "$PORT" && fail "generation 1 still accepting after STOPPING=1"
wait $CURL || fail "the stream in flight failed: $(cat "$T_DIR/curl.log")"
[ "$(grep -c '^green$' "$T_DIR/stream.out")" -ge 15 ] || fail "stream incomplete: $(cat "$T_DIR/stream.out")"
rc=0; wait $GEN1 || rc=$?
[ $rc -eq 0 ] || fail "generation 1 exited $rc after SIGTERM"
ctl backend list >/dev/null || fail "generation 1 removed generation 2's control socket"
[ "$(curl -s "http://127.0.0.1:$PORT2/")" = green ] || fail "generation 2 does not serve green"
kill -TERM "$(pgrep -P "$GEN2")"
rc=0; wait $GEN2 || rc=$?
[ $rc -eq 0 ] || fail "generation 2 exited $rc after SIGTERM"
