#!/usr/bin/env bash
# Every tcp relay path moves bulk data intact both ways: splice (forced), copy
# (forced) and auto (copy, then splice once a transfer fills the buffer), including
# the half-close that ends the client's upload. In http mode, a spliced body leaves its
# keep-alive backend connection fit for the next response, however small.
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

# http mode, keep-alive backend: big (spliced) and small (copied) responses in turn on
# one backend connection; whatever the splice path changed on the backend socket or in
# the exchange's state must be undone when the body ends, or the small response after
# it stalls or is cut.
head -c 200 /dev/urandom >"$T_DIR/www/small"
KA=$(free_port)
"$PY" - "$KA" "$T_DIR/www" "$T_DIR/ka-requests" <<'PY' &
import http.server, sys
port, root, record = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, Content-Length on every file
    def __init__(self, *a, **k):
        super().__init__(*a, directory=root, **k)
    def do_GET(self):
        with open(record, "a") as f:
            f.write("%d %s\n" % (self.client_address[1], self.path))
        super().do_GET()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
track $!
wait_for 5 port_open "$KA" || fail "keep-alive http server did not start"
start_proxy --mode http --backend "ka=127.0.0.1:$KA" --log-level debug
u="http://127.0.0.1:$PX_PORT"
curl -sS --max-time 60 -o "$T_DIR/ka1" "$u/big" -o "$T_DIR/ka2" "$u/small" -o "$T_DIR/ka3" "$u/big" \
    -o "$T_DIR/ka4" "$u/small" || fail "http keep-alive: big/small downloads failed (a small response after a spliced body stalled?)"
for i in 1 3; do cmp -s "$T_DIR/ka$i" "$T_DIR/www/big" || fail "http keep-alive: big body $i corrupted"; done
for i in 2 4; do cmp -s "$T_DIR/ka$i" "$T_DIR/www/small" || fail "http keep-alive: small body $i corrupted"; done
n=$(grep -c "splicing .* bytes of response body" "$T_DIR/proxy.log")
[ "$n" = 2 ] || fail "http keep-alive: $n bodies spliced, expected 2"
conns=$(cut -d' ' -f1 "$T_DIR/ka-requests" | sort -u | wc -l)
[ "$(wc -l <"$T_DIR/ka-requests")" = 4 ] && [ "$conns" = 1 ] ||
    fail "http keep-alive: expected 4 requests on 1 backend connection, got: $(tr '\n' ' ' <"$T_DIR/ka-requests")"
log "http keep-alive: big, small, big, small on one backend connection, intact"
stop_proxy
