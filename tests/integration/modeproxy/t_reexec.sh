#!/usr/bin/env bash
# --mode proxy: `baton reexec` five times under --close load, one of them while the
# previous generation is still draining in the proxy: same master pid, same proxy
# worker, same app workers and ports, 0 failed requests; upgrades still switch the
# adopted proxy worker afterwards.
. "$(dirname "$0")/lib.sh"
start_proxy_master --workers 2 --ready http:/ --drain-timeout 3 -- "$APP" --version v1
workers=$(worker_pids 1 | sort | tr '\n' ' ')
ports=$(gen_ports 1 | tr '\n' ' ')
proxy=$(proxy_pid)
load_start load --duration 6 --connections 8 --close
sleep 0.3
for i in 1 2 3 4 5; do
    out=$(ctl reexec --json) || fail "reexec $i failed: $out"
    [ "$(echo "$out" | jq .pid)" = "$MASTER" ] || fail "reexec $i changed the pid: $out"
    sleep 0.3
done
st=$(ctl status --json)
[ "$(echo "$st" | jq .reexecs)" = 5 ] || fail "expected 5 re-execs: $st"
[ "$(proxy_pid)" = "$proxy" ] || fail "the proxy worker changed across re-exec: $st"
[ "$(echo "$st" | jq .proxy.ready)" = true ] || fail "the proxy worker lost its readiness across re-exec"
[ "$(worker_pids 1 | sort | tr '\n' ' ')" = "$workers" ] || fail "the workers changed across re-exec"
[ "$(gen_ports 1 | tr '\n' ' ')" = "$ports" ] || fail "the ports changed across re-exec: $ports"
# An upgrade, then a re-exec at once: generation 1 is draining in the proxy (its
# connections) when the master re-executes; the new image finishes it.
ctl upgrade -- "$APP" --version v2 >/dev/null || fail "upgrade after re-exec failed"
ctl reexec >/dev/null || fail "reexec during the drain failed"
load_check load
[ "$(version_now)" = v2 ] || fail "v2 does not serve"
wait_for 10 sh -c "$BATON status --control $CTL --json | jq -e '.generations|length == 1'" ||
    fail "generation 1 did not finish after the re-exec: $(ctl status --json | jq -c '[.generations[]|{id,state}]')"
ctl upgrade -- "$APP" --version v3 >/dev/null || fail "upgrade after the last re-exec failed"
[ "$(version_now)" = v3 ] || fail "v3 does not serve"
[ "$(proxy_pid)" = "$proxy" ] || fail "the proxy worker changed"
[ "$(ctl status --json | jq .pid)" = "$MASTER" ] || fail "the master's pid changed"
