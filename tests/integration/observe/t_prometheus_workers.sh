#!/usr/bin/env bash
# `baton proxy --workers 2 --metrics`: the parent answers /metrics with the sum of both
# workers' counters. A real Prometheus scrapes it during a load of new connections that
# the kernel spreads over both workers; the accepted clients and the requests read back
# through Prometheus's HTTP API equal the sums of the workers' own counts (from the
# control socket's per-worker figures), each worker having taken some. promtool passes,
# and a drain posted to the parent's admin listener reaches both workers.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
: "${EXAMPLES:?EXAMPLES must point to the built examples}"

APORT=$(free_port) A2PORT=$(free_port) PXPORT=$(free_port) MPORT=$(free_port)
PORT=$APORT "$EXAMPLES/httpapp" --version blue 2>>"$T_DIR/app.log" &
track $!
PORT=$A2PORT "$EXAMPLES/httpapp" --version blue2 2>>"$T_DIR/app.log" &
track $!
TOKEN=$(token_file "$T_DIR/token")
"$BATON" proxy --mode http --workers 2 --health none --listen "127.0.0.1:$PXPORT" \
    --control "$T_DIR/proxy.sock" --backend "b1=127.0.0.1:$APORT" --backend "b2=127.0.0.1:$A2PORT" \
    --metrics "127.0.0.1:$MPORT" --admin-token-file "$T_DIR/token" 2>>"$T_DIR/proxy.log" &
PX=$!
track $PX
METRICS=http://127.0.0.1:$MPORT/metrics
wait_for 20 curl -sf "$METRICS" || fail "no /metrics from the parent"
ctl() { "$BATON" "$@" --control "$T_DIR/proxy.sock"; }

prom_start proxy="127.0.0.1:$MPORT"
wait_for 60 prom_is 'up{job="proxy"}' 1 || fail "prometheus cannot scrape the proxy's parent"

# 400 requests, each on a new connection: both workers take some
"$BATON" load "http://127.0.0.1:$PXPORT/" --close --requests 400 --connections 4 --json \
    >"$T_DIR/load.json" 2>>"$T_DIR/load-err.log" || fail "the load failed: $(jq -c .failures "$T_DIR/load.json")"
[ "$(jq -r .failed "$T_DIR/load.json")" = 0 ] || fail "the load saw failed requests"
ctl backend list --json >"$T_DIR/list.json" || fail "backend list failed"
read -r w0 w1 <<<"$(jq -r '[.per_worker[].accepted] | join(" ")' "$T_DIR/list.json")"
[ "$w0" -gt 0 ] && [ "$w1" -gt 0 ] || fail "a worker accepted no client ($w0, $w1)"
requests=$(jq -r '[.backends[].total] | add' "$T_DIR/list.json")
[ "$requests" -ge 400 ] || fail "the workers count $requests requests, fewer than the 400 sent"
log "workers accepted $w0 + $w1 clients and relayed $requests requests"

accepted_q="sum(baton_proxy_listener_accepted_total{job=\"proxy\"})"
requests_q="sum(baton_proxy_backend_requests_total{job=\"proxy\"})"
answered_q="sum(baton_proxy_backend_responses_total{job=\"proxy\",code=\"2xx\"})"
wait_for 60 prom_is "$accepted_q" $((w0 + w1)) ||
    fail "prometheus reads $(prom_value "$accepted_q") accepted clients, the workers $w0 + $w1"
wait_for 60 prom_is "$requests_q" "$requests" ||
    fail "prometheus reads $(prom_value "$requests_q") requests, the workers $requests"
wait_for 60 prom_is "$answered_q" "$requests" ||
    fail "prometheus reads $(prom_value "$answered_q") 2xx answers, the workers relayed $requests"
promtool_ok "$METRICS"
[ "$(curl -s "http://127.0.0.1:$MPORT/api/status" | jq -r .status.workers)" = 2 ] ||
    fail "the status page's data does not say 2 workers"

# a drain by the admin listener reaches both workers
code=$(http_status POST "http://127.0.0.1:$MPORT/api/drain" -H "Authorization: Bearer $TOKEN" \
    -d '{"backend":"b1"}')
[ "$code" = 200 ] || fail "POST /api/drain answered $code"
drained='baton_proxy_backend_state{pool="default",backend="b1",state="drained"}'
wait_for 20 metric_is "$METRICS" "$drained" 1 || fail "b1 is not drained in /metrics"
"$BATON" load "http://127.0.0.1:$PXPORT/" --close --requests 64 --connections 4 --json \
    >"$T_DIR/after.json" 2>>"$T_DIR/load-err.log" || fail "requests failed after the drain"
[ "$(jq -r '.versions.blue.count // 0' "$T_DIR/after.json")" = 0 ] ||
    fail "a worker still sent clients to drained b1"
kill -TERM $PX
wait $PX || fail "proxy exited with status $? after SIGTERM"
