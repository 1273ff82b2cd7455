#!/usr/bin/env bash
# --mode proxy: upgrades under --close load (a new connection per request), 20 through
# the http proxy worker and 10 through a tcp one: 0 failed requests, no
# connection made after a switch answered by the old version, the last version serves.
. "$(dirname "$0")/lib.sh"
for mode in http tcp; do
    start_proxy_master --proxy-mode "$mode" --drain-timeout 5 -- "$APP" --version v1
    ROUNDS=20 DURATION=9
    [ "$mode" = tcp ] && ROUNDS=10 DURATION=5
    load_start "load-$mode" --duration "$DURATION" --connections 8 --close
    sleep 0.3
    for i in $(seq 2 $((ROUNDS + 1))); do
        ctl upgrade --json -- "$APP" --version "v$i" >"$T_DIR/up$i.json" ||
            fail "$mode: upgrade to v$i failed: $(cat "$T_DIR/up$i.json")"
        sleep 0.15
    done
    load_check "load-$mode"
    for i in $(seq 2 $((ROUNDS + 1))); do
        check_switch "load-$mode" "v$((i - 1))" "$(jget "$T_DIR/up$i.json" .switched_unix_ms)"
    done
    [ "$(version_now)" = "v$((ROUNDS + 1))" ] || fail "$mode: the last version does not serve"
    [ "$(ctl status --json | jq -r .proxy.mode)" = "$mode" ] || fail "status does not show proxy mode $mode"
    ctl stop >/dev/null || fail "$mode: stop failed"
    wait "$MASTER" || fail "$mode: baton run exited non-zero after stop"
done
