#!/usr/bin/env bash
# Hostile peers on the admin listener never stall the master: more idle half-sent
# requests than the listener takes at once are cut at their deadline and /metrics is
# answered after them; malformed, oversized and pipelined requests get their error
# status; the app is served throughout.
. "$(dirname "$0")/../../lib/master.sh"
. "$(dirname "$0")/lib.sh"
MPORT=$(free_port)
master_start --metrics "127.0.0.1:$MPORT" -- "$APP" --version v1
/usr/bin/python3 - "$MPORT" >"$T_DIR/hostile.log" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
conns = []
for _ in range(80):  # more than ADMIN_CONNS_MAX, each with half a request head
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    conns.append(s)
time.sleep(60)  # holds them; the test kills it when done
PY
track $!
flooded() { [ "$(ss -Htn state established "( dport = :$MPORT )" | wc -l)" -ge 80 ]; }
wait_for 30 flooded || fail "the flood did not connect"
version_is v1 || fail "the app does not answer while the admin listener is flooded"
# The idle ones are cut at their 10 s deadline; then /metrics answers.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 "http://127.0.0.1:$MPORT/metrics")
[ "$code" = 200 ] || fail "/metrics answered '$code' after the idle connections"
raw() { /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.settimeout(30)
print(s.recv(100).split(b"\r\n")[0].decode())' "$MPORT"; }
[ "$(printf 'GET / HTTP/1.1\nHost: x\n\n' | raw)" = "HTTP/1.1 400 Bad Request" ] || fail "bare LF not refused"
[ "$(printf 'GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n' | raw)" = "HTTP/1.1 400 Bad Request" ] || fail "pipelining not refused"
[ "$({ printf 'GET / HTTP/1.1\r\n'; for i in $(seq 300); do printf 'X-Pad-%d: %040d\r\n' "$i" 0; done; printf '\r\n'; } | raw)" = \
    "HTTP/1.1 431 Request Header Fields Too Large" ] || fail "oversized head not refused"
[ "$(printf 'DELETE /api/upgrade HTTP/1.1\r\n\r\n' | raw)" = "HTTP/1.1 405 Method Not Allowed" ] || fail "DELETE not refused"
[ "$(head -c 3000 /dev/urandom | raw)" = "HTTP/1.1 400 Bad Request" ] || fail "garbage not refused"
version_is v1 || fail "the app stopped answering"
status_holds '.current_generation == 1' || fail "the master changed state"
master_stop
