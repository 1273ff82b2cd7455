#!/usr/bin/env bash
# Per listener metrics of `baton proxy`: with --max-conns 2 and five clients holding
# connections on the first of two listeners, /metrics shows 2 accepted there, the
# limit counted (limit="max_conns"), 3 clients waiting in that listener's kernel queue
# and one on the second listener (accepting paused on both); once the clients leave,
# every waiting client is accepted and counted on its own listener, and the queues
# are empty. promtool passes.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

BPORT=$(free_port) L1=$(free_port) L2=$(free_port) MPORT=$(free_port)
METRICS=http://127.0.0.1:$MPORT/metrics
$PY "$(dirname "$0")/counting_backend.py" "$BPORT" "$T_DIR/counts" 2>>"$T_DIR/backend.log" &
track $!
wait_for 10 test -s "$T_DIR/counts" || fail "the backend did not start"
"$BATON" proxy --mode tcp --max-conns 2 --health none --listen "127.0.0.1:$L1" \
    --listen "127.0.0.1:$L2" --control "$T_DIR/proxy.sock" --backend "b1=127.0.0.1:$BPORT" \
    --metrics "127.0.0.1:$MPORT" 2>>"$T_DIR/proxy.log" &
PX=$!
track $PX
wait_for 20 curl -sf "$METRICS" || fail "no /metrics"

m() { metric_value "$METRICS" "$1"; }
accepted() { metric_is "$METRICS" "baton_proxy_listener_accepted_total{listener=\"127.0.0.1:$1\"}" "$2"; }
queued() { metric_is "$METRICS" "baton_proxy_listener_queued{listener=\"127.0.0.1:$1\"}" "$2"; }
check "no client counted before any came" accepted "$L1" 0
check "no client counted before any came" accepted "$L2" 0

# hold N connections to PORT open until FILE exists
hold() {
    $PY - "$@" <<'PY' &
import os, socket, sys, time
port, n, until = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(n):
    socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    time.sleep(0.1)  # in order: the first two are the ones accepted
deadline = time.time() + 60
while not os.path.exists(until) and time.time() < deadline:
    time.sleep(0.05)
PY
    track $!
}
hold "$L1" 5 "$T_DIR/release"
wait_for 20 queued "$L1" 3 || fail "expected 3 clients queued on $L1, /metrics says '$(m "baton_proxy_listener_queued{listener=\"127.0.0.1:$L1\"}")'"
check "2 accepted on $L1 under --max-conns 2" accepted "$L1" 2
limited=$(m "baton_proxy_listener_limited_total{listener=\"127.0.0.1:$L1\",limit=\"max_conns\"}")
[ "${limited:-0}" -ge 1 ] || fail "the max_conns limit was not counted on $L1: '$limited'"
hold "$L2" 1 "$T_DIR/release"
wait_for 20 queued "$L2" 1 || fail "a client on $L2 was not left waiting while accepting paused"
check "nothing accepted on $L2 while full" accepted "$L2" 0
promtool_ok "$METRICS"

touch "$T_DIR/release"
wait_for 20 accepted "$L1" 5 || fail "the waiting clients of $L1 were not accepted: $(m "baton_proxy_listener_accepted_total{listener=\"127.0.0.1:$L1\"}")"
wait_for 20 accepted "$L2" 1 || fail "the waiting client of $L2 was not accepted"
check "$L1's queue empty" queued "$L1" 0
check "$L2's queue empty" queued "$L2" 0
[ "$(m 'baton_proxy_listener_limited_total{listener="127.0.0.1:'"$L2"'",limit="fds"}')" = 0 ] ||
    fail "an fd limit was counted"
log "listener $L1: accepted 5, max_conns limit reached $(m "baton_proxy_listener_limited_total{listener=\"127.0.0.1:$L1\",limit=\"max_conns\"}") times"
kill -TERM $PX
wait $PX || fail "proxy exited with status $? after SIGTERM"
