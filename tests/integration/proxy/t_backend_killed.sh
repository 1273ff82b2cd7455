#!/usr/bin/env bash
# Failing backends (a backend killed under load: cases/backend_killed.case): in tcp
# mode, a backend that refuses connections is retried on another without the client
# seeing an error; with --health http:PATH, a backend that does not answer GET PATH
# with 2xx/3xx is marked down and gets no request.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app a; A=$APP_PORT
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
