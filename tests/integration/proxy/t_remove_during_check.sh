#!/usr/bin/env bash
# `backend-remove` while that backend's health check is waiting for its answer, with
# the removal and the answer arriving in the same batch of events: the check must not
# be used after the removal freed it (a use after free the sanitizer reports, and the
# proxy worker of `baton run --mode proxy` crashed on it when an upgrade removed the
# old generation's backend). The proxy is stopped (SIGSTOP) while the request and then
# the answer arrive, so that its next epoll_wait returns both, the request first.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

BACKEND_PORT=$(free_port)
# A backend that holds the health check's GET until $T_DIR/answer exists.
python3 - "$BACKEND_PORT" "$T_DIR" <<'PY' 2>>"$T_DIR/backend.log" &
import os, socket, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(8)
open(os.path.join(d, "listening"), "w").close()
while True:
    c, _ = s.accept()
    if b"baton-health" in c.recv(4096):
        break
    c.close()
open(os.path.join(d, "got"), "w").close()
for _ in range(600):
    if os.path.exists(os.path.join(d, "answer")):
        break
    time.sleep(0.05)
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
open(os.path.join(d, "sent"), "w").close()
time.sleep(30)
PY
track $!
wait_for 20 test -e "$T_DIR/listening" || fail "fake backend did not listen"
start_proxy --mode http --health http:/ --health-interval 60000 --connect-timeout 60000 --backend "b=127.0.0.1:$BACKEND_PORT"
wait_for 10 test -e "$T_DIR/got" || fail "the health check's GET never reached the backend"

# A control connection the proxy has accepted and watches (its fd is listed in the
# epoll fd's fdinfo), with no request yet.
python3 - "$PX_PID" "$PX_CTL" "$T_DIR" <<'PY' >"$T_DIR/remove.out" 2>&1
import json, os, signal, socket, sys, time
pid, path, d = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fddir = f"/proc/{pid}/fd"

def sockets():
    out = {}
    for fd in os.listdir(fddir):
        try:
            out[fd] = os.readlink(os.path.join(fddir, fd))
        except OSError:
            pass
    return out

def watched():
    tfds = set()
    for fd, target in sockets().items():
        if target == "anon_inode:[eventpoll]":
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                tfds |= {l.split()[1] for l in f if l.startswith("tfd:")}
    return tfds

before = set(sockets())
c = socket.socket(socket.AF_UNIX)
c.connect(path)
for _ in range(600):
    new = set(sockets()) - before
    if new and new <= watched():
        break
    time.sleep(0.05)
else:
    sys.exit("the proxy did not accept and watch the control connection")
os.kill(pid, signal.SIGSTOP)
try:
    c.sendall(json.dumps({"cmd": "backend-remove", "name": "b"}).encode() + b"\n")
    open(os.path.join(d, "answer"), "w").close()
    for _ in range(600):  # the backend sends its answer, then says so
        if os.path.exists(os.path.join(d, "sent")):
            break
        time.sleep(0.05)
    else:
        sys.exit("the backend did not send its answer")
finally:
    os.kill(pid, signal.SIGCONT)
c.settimeout(10)
print(c.recv(4096).decode().strip())
PY
rc=$?
[ $rc -eq 0 ] || fail "remove: $(cat "$T_DIR/remove.out")"
grep -q '"ok":true' "$T_DIR/remove.out" || fail "backend-remove failed: $(cat "$T_DIR/remove.out")"
kill -0 "$PX_PID" 2>/dev/null || fail "the proxy died after the removal"
ctl backend list --json >"$T_DIR/list.json" || fail "the proxy does not answer after the removal"
[ "$(jq '.backends|length' "$T_DIR/list.json")" -eq 0 ] || fail "backend still listed: $(cat "$T_DIR/list.json")"
stop_proxy
log "ok"
