#!/usr/bin/env bash
# The proxy counts the bytes it moves to and from each backend in every mode: after a
# known transfer (a 1 MB response, which http mode splices, a 300 KB request body, and
# small keep-alive exchanges), baton_proxy_backend_sent_bytes_total and
# _received_bytes_total on /metrics equal, to the byte, what the backend itself read and
# wrote on its sockets; with --workers 2 the parent's /metrics shows the sum of both
# workers. promtool passes on every exposition.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

head -c 300000 /dev/zero | tr '\0' 'b' >"$T_DIR/body"

# bytes_match URL FILE: the proxy's counters for backend b1 equal the backend's own.
bytes_match() {
    local sent received
    sent=$(metric_value "$1" 'baton_proxy_backend_sent_bytes_total{pool="default",backend="b1"}')
    received=$(metric_value "$1" 'baton_proxy_backend_received_bytes_total{pool="default",backend="b1"}')
    [ "$sent $received" = "$(cat "$2")" ]
}

run_case() { # NAME baton-proxy-options...
    local name=$1 bport pport mport
    shift
    bport=$(free_port) pport=$(free_port) mport=$(free_port)
    local counts=$T_DIR/counts-$name metrics=http://127.0.0.1:$mport/metrics
    $PY "$(dirname "$0")/counting_backend.py" "$bport" "$counts" 2>>"$T_DIR/backend.log" &
    local bpid=$!
    track $bpid
    wait_for 10 test -s "$counts" || fail "$name: the counting backend did not start"
    "$BATON" proxy --listen "127.0.0.1:$pport" --control "$T_DIR/$name.sock" --health none \
        --backend "b1=127.0.0.1:$bport" --metrics "127.0.0.1:$mport" "$@" 2>>"$T_DIR/proxy.log" &
    local ppid=$!
    track $ppid
    wait_for 20 curl -sf "$metrics" || fail "$name: no /metrics"
    # the transfers (curl checks each length)
    local got
    got=$(curl -sf --max-time 30 "http://127.0.0.1:$pport/bytes/1000000" | wc -c)
    [ "$got" = 1000000 ] || fail "$name: 1 MB response arrived as $got bytes"
    got=$(curl -sf --max-time 30 --data-binary "@$T_DIR/body" "http://127.0.0.1:$pport/bytes/100" | wc -c)
    [ "$got" = 100 ] || fail "$name: the answer to the 300 KB body arrived as $got bytes"
    got=$(curl -sf --max-time 30 "http://127.0.0.1:$pport/bytes/10" "http://127.0.0.1:$pport/bytes/20" \
        "http://127.0.0.1:$pport/bytes/30" | wc -c)
    [ "$got" = 60 ] || fail "$name: keep-alive answers arrived as $got bytes"
    wait_for 20 bytes_match "$metrics" "$counts" ||
        fail "$name: proxy counted sent/received $(metric_value "$metrics" 'baton_proxy_backend_sent_bytes_total{pool="default",backend="b1"}')/$(metric_value "$metrics" 'baton_proxy_backend_received_bytes_total{pool="default",backend="b1"}'), the backend read/wrote $(cat "$counts")"
    read -r bread bwritten <"$counts"
    [ "$bread" -gt 300000 ] && [ "$bwritten" -gt 1000160 ] ||
        fail "$name: the backend saw too few bytes ($bread read, $bwritten written)"
    log "$name: backend read $bread and wrote $bwritten bytes; /metrics says the same"
    promtool_ok "$metrics"
    kill -TERM $ppid
    wait $ppid || fail "$name: proxy exited with status $? after SIGTERM"
    kill $bpid
}

run_case http --mode http
run_case http-copy --mode http --relay copy
run_case http-workers --mode http --workers 2
run_case tcp --mode tcp
run_case tcp-workers --mode tcp --workers 2
