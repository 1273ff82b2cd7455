#!/usr/bin/env bash
# Failures: a backend killed under keep-alive load (http mode) costs the clients no
# error (requests not yet answered are sent again elsewhere), is marked down by the
# health checks and back up when it returns. In tcp mode, a backend that refuses
# connections is retried on another without the client seeing an error.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app a; A=$APP_PORT
start_app b; B=$APP_PORT; B_PID=$APP_PID_b
start_proxy --mode http --health-interval 200 --backend "a=127.0.0.1:$A" --backend "b=127.0.0.1:$B"

"$BATON" load "http://127.0.0.1:$PX_PORT/" --duration 4 --connections 8 --json \
    >"$T_DIR/load.json" 2>"$T_DIR/load.log" &
LOAD=$!
sleep 1
kill -KILL "$B_PID"
wait_for 5 backend_is b down || fail "killed backend not marked down: $(ctl backend list --json)"
sleep 0.5
PORT=$B "$EXAMPLES/httpapp" --version b 2>>"$T_DIR/app-b.log" &
track $!
wait_for 5 backend_is b up || fail "returned backend not marked up again"
wait $LOAD
load_ok "$T_DIR/load.json"
a_count=$(jq -r '.versions.a.count // 0' "$T_DIR/load.json")
b_last=$(jq -r '.versions.b.last_sent_ms // 0' "$T_DIR/load.json")
log "a answered $a_count, b's last answer sent at +$b_last ms"
[ "$b_last" -gt 1600 ] || fail "no request reached b after it came back"
grep -q "backend 'b' is down" "$T_DIR/proxy.log" || fail "no log line for b going down"
grep -q "backend 'b' (127.0.0.1:$B) is up again" "$T_DIR/proxy.log" || fail "no log line for b back up"
stop_proxy
rm -f "$PX_CTL"

log "tcp: a backend refusing connections is retried on another"
DEAD=$(free_port)
start_proxy --mode tcp --health none --backend "a=127.0.0.1:$A" --backend "dead=127.0.0.1:$DEAD"
"$BATON" load "http://127.0.0.1:$PX_PORT/" --close --requests 200 --connections 2 --json \
    >"$T_DIR/load-tcp.json" 2>"$T_DIR/load-tcp.log"
load_ok "$T_DIR/load-tcp.json"
[ "$(jq -r .ok "$T_DIR/load-tcp.json")" -ge 200 ] || fail "not every request answered"
failures=$(backend_field dead failures)
[ "$failures" -ge 50 ] || fail "the refusing backend was tried only $failures times"
grep -q "backend 'dead': cannot connect to '127.0.0.1:$DEAD': Connection refused; trying another" \
    "$T_DIR/proxy.log" || fail "no log line for the refused connect"
stop_proxy
rm -f "$PX_CTL"

log "http health checks: a backend that does not answer GET PATH with 2xx/3xx is down"
ECHO=$(free_port)
$RAW echo "$ECHO" & track $!
wait_for 5 port_open "$ECHO" || fail "echo server did not start"
start_proxy --mode http --health http:/healthz --health-interval 200 \
    --backend "a=127.0.0.1:$A" --backend "echo=127.0.0.1:$ECHO"
wait_for 5 backend_is echo down || fail "a backend answering garbage to the check stays up"
grep -q "backend 'echo' is down: GET /healthz got no HTTP answer" "$T_DIR/proxy.log" ||
    fail "no log line naming the failed check"
backend_is a up || fail "a healthy backend was marked down"
for i in 1 2 3 4 5 6; do
    [ "$(curl -s "http://127.0.0.1:$PX_PORT/")" = a ] || fail "a request went to the down backend"
done
stop_proxy
