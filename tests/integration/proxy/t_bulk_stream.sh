#!/usr/bin/env bash
# tcp mode relays a large one-way stream byte-exact on every relay path: random bytes
# sent fast (the splice path reads the socket again after each large read instead of
# waiting on epoll), a pause (the socket is drained and the relay waits), the rest, and
# the server's half-close; the client's upload after that half-close reaches the server
# whole.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
STREAM="$PY $(dirname "$0")/stream.py"

head -c $((12 * 1024 * 1024 + 321)) /dev/urandom >"$T_DIR/down"
head -c $((3 * 1024 * 1024 + 7)) /dev/urandom >"$T_DIR/up"
for relay in auto splice copy; do
    SRV=$(free_port)
    rm -f "$T_DIR/got-up"
    $STREAM serve "$SRV" "$T_DIR/down" "$T_DIR/got-up" & srv=$!
    track $srv
    wait_for 5 port_open "$SRV" || fail "$relay: stream server did not start"
    start_proxy --mode tcp --relay $relay --backend "s=127.0.0.1:$SRV"
    out=$($STREAM fetch "$PX_PORT" "$T_DIR/down" "$T_DIR/up") || fail "$relay: $out"
    wait "$srv" || fail "$relay: stream server failed"
    cmp -s "$T_DIR/got-up" "$T_DIR/up" || fail "$relay: upload after the half-close corrupted"
    log "$relay: $out"
    wait_for 5 backend_conns_are s 0 || fail "$relay: connection left open"
    stop_proxy; rm -f "$PX_CTL"
done
