#!/usr/bin/env bash
# Every tcp relay path moves bulk data intact both ways: splice (forced), copy
# (forced) and auto (copy, then splice once a transfer fills the buffer), including
# the half-close that ends the client's upload.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
RAW="python3 $(dirname "$0")/raw.py"

ECHO=$(free_port)
$RAW echo "$ECHO" & track $!
wait_for 5 port_open "$ECHO" || fail "echo server did not start"
for relay in splice copy auto; do
    start_proxy --mode tcp --relay $relay --buffer-size 8192 --backend "e=127.0.0.1:$ECHO"
    before=$(backend_field e total) # start_proxy's probe connected once
    out=$($RAW bulk "$PX_PORT" 4) || fail "$relay: $out"
    log "$relay: $out"
    # several at once
    pids=()
    for i in 1 2 3 4; do $RAW bulk "$PX_PORT" 1 >"$T_DIR/bulk-$relay-$i.out" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || fail "$relay: a parallel transfer failed"; done
    [ "$(backend_field e total)" = $((before + 5)) ] || fail "$relay: expected 5 connections through the proxy"
    wait_for 5 backend_conns_are e 0 || fail "$relay: connections left open"
    stop_proxy; rm -f "$PX_CTL"
done
