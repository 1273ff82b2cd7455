#!/usr/bin/env bash
# --mode proxy: 20 upgrades of an app that binds its own $PORT, under keep-alive load
# through the proxy worker: 0 failed requests, no connection made after a switch is
# answered by the old version, each generation on its own private port, the proxy
# worker stays the same process, and the last version serves at the end.
. "$(dirname "$0")/lib.sh"
start_proxy_master --ready http:/ --drain-timeout 5 -- "$APP" --version v1
st=$(ctl status --json)
[ "$(echo "$st" | jq -r .mode)" = proxy ] || fail "status does not say mode proxy: $st"
[ "$(echo "$st" | jq .proxy.pid)" -gt 0 ] || fail "status shows no proxy worker: $st"
p1=$(gen_ports 1)
[ "$p1" -ge "$PRIV_LO" ] && [ "$p1" -le "$PRIV_HI" ] || fail "generation 1 port $p1 is outside $PRIV_LO-$PRIV_HI"
[ "$(curl -s "http://127.0.0.1:$p1/" | head -1)" = v1 ] || fail "v1 does not answer on its private port $p1"
text=$(ctl status)
echo "$text" | grep -qE "^proxy worker $(echo "$st" | jq .proxy.pid) \(http mode(, ready)?\), 0 restarts" ||
    fail "status does not show the proxy worker: $text"
echo "$text" | grep -qE "^1 +serving .* [0-9]+:r@$p1 " || fail "status does not show generation 1's port: $text"
ROUNDS=20
load_start load --duration 14 --connections 16
sleep 0.3
for i in $(seq 2 $((ROUNDS + 1))); do
    ctl upgrade --json -- "$APP" --version "v$i" >"$T_DIR/up$i.json" ||
        fail "upgrade to v$i failed: $(cat "$T_DIR/up$i.json")"
    [ "$(jget "$T_DIR/up$i.json" .generation)" = "$i" ] || fail "upgrade to v$i: $(cat "$T_DIR/up$i.json")"
    sleep 0.15
done
load_check load
for i in $(seq 2 $((ROUNDS + 1))); do
    check_switch load "v$((i - 1))" "$(jget "$T_DIR/up$i.json" .switched_unix_ms)"
done
nv=$(jq '.versions|length' "$T_DIR/load.json")
[ "$nv" -ge 10 ] || fail "only $nv versions answered during 20 upgrades"
jq -e ".versions[\"v$((ROUNDS + 1))\"]" "$T_DIR/load.json" >/dev/null ||
    fail "the load ended before the last version served; lengthen it"
[ "$(version_now)" = "v$((ROUNDS + 1))" ] || fail "the last version does not serve"
# "generation N: started worker PID (slot 0, port P)": one port per generation, all
# different.
ports=$(sed -n 's/.*generation \([0-9]*\): started worker [0-9]* (slot 0, port \([0-9]*\)).*/\1:\2/p' "$T_DIR/master.log")
[ "$(echo "$ports" | wc -l)" = "$((ROUNDS + 1))" ] || fail "expected $((ROUNDS + 1)) workers started: $ports"
[ "$(echo "$ports" | cut -d: -f2 | sort -u | wc -l)" = "$((ROUNDS + 1))" ] ||
    fail "generations shared private ports: $(echo $ports)"
[ "$(proxy_pid)" = "$(echo "$st" | jq .proxy.pid)" ] || fail "the proxy worker changed during upgrades"
wait_for 10 sh -c "$BATON status --control $CTL --json | jq -e '.generations|length == 1'" ||
    fail "old generations did not exit: $(ctl status --json | jq -c '[.generations[]|{id,state}]')"
ctl stop >/dev/null || fail "stop failed"
wait "$MASTER" || fail "baton run exited non-zero after stop"
