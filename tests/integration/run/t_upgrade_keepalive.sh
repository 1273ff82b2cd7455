#!/usr/bin/env bash
# 20 upgrades under keep-alive load: 0 failed requests, and no connection made after an
# old generation stopped accepting is answered by that old version.
. "$(dirname "$0")/lib.sh"
start_master --workers 2 --drain-timeout 5 -- "$APP" --version v1
ROUNDS=20
load_start load --duration 14 --connections 16
sleep 0.3
for i in $(seq 2 $((ROUNDS + 1))); do
    ctl upgrade --json -- "$APP" --version "v$i" >"$T_DIR/up$i.json" ||
        fail "upgrade to v$i failed: $(cat "$T_DIR/up$i.json")"
    sleep 0.3
done
load_check load
for i in $(seq 2 $((ROUNDS + 1))); do
    check_switch load "v$((i - 1))" "$(jget "$T_DIR/up$i.json" .switched_unix_ms)"
done
[ "$(version_now)" = "v$((ROUNDS + 1))" ] || fail "the last version does not serve"
gens=$(ctl status --json | jq '[.generations[]|select(.state!="exited")]|length')
log "generations left after the upgrades: $gens"
ctl stop >/dev/null || fail "stop failed"
wait "$MASTER" || fail "baton run exited non-zero after stop"
