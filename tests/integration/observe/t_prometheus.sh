#!/usr/bin/env bash
# A real Prometheus scrapes `baton run --metrics` and `baton proxy --metrics` while the
# app is upgraded under load, and /metrics itself is loaded at the same time: both
# expositions pass promtool, the upgrade counter read back through Prometheus's HTTP
# API is one more after the upgrade, no scrape failed, and the app's traffic and the
# /metrics load have no failed request.
. "$(dirname "$0")/../../lib/master.sh"
. "$(dirname "$0")/../../lib/load.sh"
. "$(dirname "$0")/lib.sh"
MPORT=$(free_port)
master_start --workers 2 --metrics "127.0.0.1:$MPORT" -- "$APP" --version v1
PXPORT=$(free_port) PXMPORT=$(free_port)
"$BATON" proxy --mode http --listen "127.0.0.1:$PXPORT" --control "$T_DIR/proxy.sock" \
    --backend "app=127.0.0.1:$PORT" --metrics "127.0.0.1:$PXMPORT" 2>>"$T_DIR/proxy.log" &
track $!
wait_for 10 curl -sf "http://127.0.0.1:$PXPORT/" || fail "the proxy does not answer"

load_start app "http://127.0.0.1:$PXPORT/" --connections 4
load_wait_more app 50
promtool_ok "http://127.0.0.1:$MPORT/metrics"
promtool_ok "http://127.0.0.1:$PXMPORT/metrics"

prom_start master="127.0.0.1:$MPORT" proxy="127.0.0.1:$PXMPORT"
wait_for 60 prom_is 'baton_upgrades_total{job="master",result="switched"}' 0 ||
    fail "prometheus never read the master's upgrade counter: $(prom_value 'up')"
wait_for 60 prom_is 'up{job="proxy"}' 1 || fail "prometheus cannot scrape the proxy"

load_start metrics "http://127.0.0.1:$MPORT/metrics" --connections 4 --close
load_wait_more metrics 50
reply=$(master_ctl upgrade --json) || fail "upgrade failed: $reply"
load_wait_version app v1
load_wait_more app 100
load_wait_more metrics 50
# Prometheus has scraped the master after the upgrade: the counter reads one more.
wait_for 60 prom_is 'baton_upgrades_total{job="master",result="switched"}' 1 ||
    fail "the upgrade counter read through prometheus is '$(prom_value 'baton_upgrades_total{job="master",result="switched"}')', not 1"
wait_for 60 prom_is 'baton_current_generation{job="master"}' 2 || fail "prometheus does not see generation 2"
load_stop metrics
load_stop app
load_check app
load_check metrics
# How many scrapes succeeded (logged: on a busy machine one may pass its timeout).
for job in master proxy; do
    log "$job: $(prom_value "sum_over_time(up{job=\"$job\"}[5m])") of $(prom_value "count_over_time(up{job=\"$job\"}[5m])") scrapes succeeded"
done
answered=$(prom_value 'sum(baton_proxy_backend_responses_total{job="proxy",code="2xx"})')
[ "${answered:-0}" -gt 0 ] || fail "prometheus read no response count from the proxy"
[ "$(prom_value 'baton_upgrade_phase_seconds_count{job="master",phase="drain"}')" = 1 ] ||
    fail "the drain phase of the upgrade was not observed once"
promtool_ok "http://127.0.0.1:$MPORT/metrics"
promtool_ok "http://127.0.0.1:$PXMPORT/metrics"
master_stop
