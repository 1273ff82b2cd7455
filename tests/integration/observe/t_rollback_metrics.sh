#!/usr/bin/env bash
# Failed upgrades and rollbacks are counted with their reasons, and their timelines
# say so: a new generation that is never ready (ready_timeout), one whose worker exits
# before it is ready (worker_exited), then an upgrade and a requested rollback.
. "$(dirname "$0")/../../lib/master.sh"
. "$(dirname "$0")/lib.sh"
MPORT=$(free_port)
M=http://127.0.0.1:$MPORT
master_start --ready-timeout 2s --metrics "127.0.0.1:$MPORT" -- "$APP" --version v1
metric() { curl -s "$M/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
master_ctl upgrade -- "$APP" --version v2 --never-ready >/dev/null 2>&1 && fail "a never-ready upgrade succeeded"
master_ctl upgrade -- "$APP" --version v2 --fail-at-start >/dev/null 2>&1 && fail "a failing upgrade succeeded"
[ "$(metric 'baton_upgrades_total{result="rolled_back"}')" = 2 ] || fail "rolled-back upgrades: $(metric 'baton_upgrades_total{result="rolled_back"}')"
[ "$(metric 'baton_rollbacks_total{reason="ready_timeout"}')" = 1 ] || fail "ready_timeout rollbacks"
[ "$(metric 'baton_rollbacks_total{reason="worker_exited"}')" = 1 ] || fail "worker_exited rollbacks"
[ "$(metric 'baton_upgrades_total{result="switched"}')" = 0 ] || fail "a failed upgrade counted as switched"
master_ctl upgrade -- "$APP" --version v2 >/dev/null || fail "upgrade to v2"
master_ctl rollback >/dev/null || fail "rollback"
wait_for 30 version_is v1 || fail "v1 does not serve after the rollback"
[ "$(metric 'baton_upgrades_total{result="switched"}')" = 1 ] || fail "switched upgrades"
[ "$(metric 'baton_rollbacks_total{reason="requested"}')" = 1 ] || fail "requested rollbacks"
curl -s "$M/api/status" >"$T_DIR/status.json"
jq -e '[.status.upgrades[] | .kind + ":" + .result] == ["start:switched", "upgrade:failed", "upgrade:failed", "upgrade:switched", "rollback:switched"]' \
    "$T_DIR/status.json" >/dev/null || fail "timelines: $(jq -c '.status.upgrades' "$T_DIR/status.json")"
jq -e '.status.upgrades[1].reason | test("not ready within")' "$T_DIR/status.json" >/dev/null || fail "no reason on the failed upgrade"
jq -e '.status.upgrades[3] | .ready_ms >= .started_ms and .switched_ms >= .ready_ms and .drained_ms >= .switched_ms' \
    "$T_DIR/status.json" >/dev/null || fail "the upgrade's phases are out of order"
promtool_ok "$M/metrics"
master_stop
