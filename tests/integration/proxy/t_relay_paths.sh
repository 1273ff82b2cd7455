#!/usr/bin/env bash
# Every tcp relay path moves bulk data intact both ways: splice (forced), copy
# (forced) and auto (copy, then splice once a transfer fills the buffer), including
# the half-close that ends the client's upload.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

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

# http mode: a large Content-Length body goes through splice (auto) or the copy path
mkdir -p "$T_DIR/www"
head -c $((6 * 1024 * 1024 + 123)) /dev/urandom >"$T_DIR/www/big"
WWW=$(free_port)
(cd "$T_DIR/www" && exec "$PY" -m http.server --bind 127.0.0.1 "$WWW" >"$T_DIR/http-server.out" 2>&1) &
track $!
wait_for 5 port_open "$WWW" || fail "http.server did not start"
for relay in auto copy; do
    start_proxy --mode http --relay $relay --backend "www=127.0.0.1:$WWW" --log-level debug
    curl -sS -o "$T_DIR/big.$relay" "http://127.0.0.1:$PX_PORT/big" "http://127.0.0.1:$PX_PORT/big" \
        -o "$T_DIR/big2.$relay" || fail "http $relay: download failed"
    cmp -s "$T_DIR/big.$relay" "$T_DIR/www/big" && cmp -s "$T_DIR/big2.$relay" "$T_DIR/www/big" ||
        fail "http $relay: body corrupted"
    log "http $relay: 2 x $(stat -c %s "$T_DIR/www/big") bytes intact"
    n=$(grep -c "splicing .* bytes of response body" "$T_DIR/proxy.log")
    if [ $relay = auto ]; then [ "$n" = 2 ] || fail "http auto: $n bodies spliced, expected 2"
    else [ "$n" = 0 ] || fail "http copy: $n bodies spliced"; fi
    mv "$T_DIR/proxy.log" "$T_DIR/proxy-http-$relay.log"
    stop_proxy; rm -f "$PX_CTL"
done
