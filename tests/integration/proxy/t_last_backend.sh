#!/usr/bin/env bash
# The only backend clients can go to is not taken out by one refused connect: a
# restarted app (down for a moment, back on its port) answers the next client at once
# instead of every client getting an error until the next health check (60 s away
# here). With two backends a refusing one is still taken out at once.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

for mode in http tcp; do
    log "$mode: the only backend refuses once, then comes back"
    start_app "a-$mode"; A=$APP_PORT
    start_proxy --mode "$mode" --health connect --health-interval 60000 --backend "a=127.0.0.1:$A"
    [ "$(curl -s "http://127.0.0.1:$PX_PORT/")" = "a-$mode" ] || fail "$mode: no answer before the restart"
    pid_var="APP_PID_a_$mode"
    kill -KILL "${!pid_var}"
    wait_for 5 sh -c "! curl -s -o /dev/null http://127.0.0.1:$A/" || fail "the app did not die"
    if out=$(curl -sf "http://127.0.0.1:$PX_PORT/"); then
        fail "$mode: a request was answered while the only backend was dead: $out"
    fi
    backend_is a up || fail "$mode: one refused connect took the only backend out: $(backend_field a state)"
    PORT=$A "$EXAMPLES/httpapp" --version "a2-$mode" 2>>"$T_DIR/app-a2-$mode.log" & track $!
    wait_for 5 port_open "$A" || fail "the app did not come back on $A"
    out=$(curl -s "http://127.0.0.1:$PX_PORT/")
    [ "$out" = "a2-$mode" ] || fail "$mode: the first request after the restart got '$out'"
    grep -q "backend 'a': .*Connection refused" "$T_DIR/proxy.log" || fail "$mode: the refused connect is not logged"
    stop_proxy
    rm -f "$PX_CTL"
done

log "two backends: a refusing one is taken out at once"
start_app b; B=$APP_PORT
DEAD=$(free_port)
start_proxy --mode http --health connect --health-interval 60000 \
    --backend "b=127.0.0.1:$B" --backend "dead=127.0.0.1:$DEAD"
for i in 1 2 3 4; do
    [ "$(curl -s "http://127.0.0.1:$PX_PORT/")" = b ] || fail "a request failed with one backend refusing"
done
backend_is dead down || fail "the refusing backend is $(backend_field dead state), not down"
stop_proxy
