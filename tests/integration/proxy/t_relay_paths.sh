#!/usr/bin/env bash
# Every tcp relay path moves bulk data intact both ways: splice (forced), copy
# (forced) and auto (copy, then splice once a transfer fills the buffer), including
# the half-close that ends the client's upload. In http mode, a spliced body leaves its
# keep-alive backend connection fit for the next response, however small, and a body
# that slows down in the middle still reaches the client as it comes: the receive
# low-water mark of the splice path never holds bytes back for long.
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

# http mode, a sender that slows down: 1 MB at once (the splice path raises the backend
# socket's receive mark once it has read it all), then 1000 bytes, below the mark, that
# the client must get before the backend sends the rest. If the mark held them back,
# the client would wait for them until its cap (the proxy's idle timeout is longer).
SLOW=$(free_port)
"$PY" - "$SLOW" "$T_DIR" <<'PY' &
import os, socket, sys, time
port, tdir = int(sys.argv[1]), sys.argv[2]
def wait_file(name):
    end = time.monotonic() + 60
    while not os.path.exists(os.path.join(tdir, name)):
        if time.monotonic() > end:
            sys.exit("slow backend: the client never said " + name)
        time.sleep(0.01)
ls = socket.create_server(("127.0.0.1", port))
while True:
    c, _ = ls.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            break
        req += d
    if not req.startswith(b"GET /slow "):
        c.close()  # the proxy's start-up probe, or anything else
        continue
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 << 20) + b"a" * (1 << 20))
    wait_file("slow-got-1m")
    c.sendall(b"b" * 1000)
    wait_file("slow-got-trickle")
    c.sendall(b"c" * ((1 << 20) - 1000))
    c.close()
PY
track $!
wait_for 5 port_open "$SLOW" || fail "slow http backend did not start"
start_proxy --mode http --backend "slow=127.0.0.1:$SLOW" --idle-timeout 120s --log-level debug
"$PY" - "$PX_PORT" "$T_DIR" <<'PY' || fail "http slow sender: $(tail -n 1 "$T_DIR/slow-client.err")"
import os, socket, sys, time
port, tdir = int(sys.argv[1]), sys.argv[2]
err = open(os.path.join(tdir, "slow-client.err"), "w")
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(30)  # the cap: far below the proxy's idle timeout
s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
def until(n, what):
    global data
    while len(data) < n:
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            err.write("%s: still waiting after 30 s with %d bytes (held back by the proxy?)\n" % (what, len(data)))
            sys.exit(1)
        if not d:
            err.write("%s: connection ended at %d bytes\n" % (what, len(data)))
            sys.exit(1)
        data += d
head_end = None
while head_end is None:
    until(len(data) + 1, "head")
    i = data.find(b"\r\n\r\n")
    head_end = i + 4 if i >= 0 else None
until(head_end + (1 << 20), "first MB")
open(os.path.join(tdir, "slow-got-1m"), "w").close()
until(head_end + (1 << 20) + 1000, "the 1000 bytes after a pause")
open(os.path.join(tdir, "slow-got-trickle"), "w").close()
until(head_end + (2 << 20), "the rest")
body = data[head_end:]
if body != b"a" * (1 << 20) + b"b" * 1000 + b"c" * ((1 << 20) - 1000):
    err.write("body corrupted\n")
    sys.exit(1)
PY
grep -q "splicing .* bytes of response body" "$T_DIR/proxy.log" || fail "http slow sender: the body was not spliced"
log "http slow sender: 2 MB intact, the bytes after a pause forwarded as they came"
stop_proxy
