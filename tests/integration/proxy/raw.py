# Raw socket helpers for the proxy tests (python3 stdlib only):
#   raw.py send PORT TEXT          send TEXT (\r\n escapes honoured), print the answer
#   raw.py ctl SOCKET LINE         send one raw line to a control socket, print reply
#   raw.py echo PORT               echo server (until killed)
#   raw.py bulk PORT MB            send MB of random bytes through an echo, check them
#   raw.py slowloris PORT N SECS   N connections sending a head one byte at a time
#   raw.py flood PORT N SECS tcp|http  N connections writing as fast as they can
#                                  (bytes, or pipelined GETs) and never reading
#   raw.py listenfds PORT -- CMD   run CMD with a bound listener passed as LISTEN_FDS
#   raw.py notify PATH OUT         receive sd_notify datagrams on PATH, append to OUT
import hashlib, os, select, socket, sys, threading, time

def cmd_send(port, text):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s.sendall(text.encode().decode("unicode_escape").encode("latin-1"))
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    sys.stdout.write(out.decode("latin-1"))

def cmd_ctl(path, line):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    s.sendall(line.encode("latin-1") + b"\n")
    out = b""
    while not out.endswith(b"\n"):
        d = s.recv(65536)
        if not d:
            break
        out += d
    sys.stdout.write(out.decode("latin-1"))

def cmd_echo(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(64)
    def serve(c):
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def cmd_bulk(port, mb):
    n = int(mb) << 20
    data = os.urandom(n)
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    def writer():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=writer)
    t.start()
    got = hashlib.sha256()
    total = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        got.update(d)
        total += len(d)
    t.join()
    ok = total == n and got.hexdigest() == hashlib.sha256(data).hexdigest()
    print("bulk %d of %d bytes, %s" % (total, n, "intact" if ok else "CORRUPT"))
    sys.exit(0 if ok else 1)

def small_conns(port, n):
    """N connections to PORT with small receive buffers: a proxy meets a slow reader."""
    socks = []
    for _ in range(int(n)):
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        socks.append(s)
    return socks

def hold(port, n, secs, first, drip):
    socks = small_conns(port, n)
    for s in socks:
        s.sendall(first)
    end = time.time() + float(secs)
    answers = {}
    while time.time() < end:
        for s in list(socks):
            # stop dripping once the proxy answered
            if select.select([s], [], [], 0)[0]:
                try:
                    answers[s] = s.recv(200) or b"<closed>"
                except OSError:
                    answers[s] = b"<reset>"
                socks.remove(s)
                continue
            if drip:
                try:
                    s.sendall(b"X")
                except OSError:
                    socks.remove(s)
                    answers[s] = b"<reset>"
        time.sleep(0.1)
    for s in socks:
        answers[s] = b"<silent>"
    if drip:
        for a in answers.values():
            print(a.split(b"\r\n")[0].decode("latin-1"))

def cmd_flood(port, n, secs, kind):
    socks = small_conns(port, n)
    for s in socks:
        s.setblocking(False)
    chunk = os.urandom(65536) if kind == "tcp" else b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 2000
    sent = 0
    end = time.time() + float(secs)
    while time.time() < end:
        for s in socks:
            try:
                sent += s.send(chunk)
            except (BlockingIOError, OSError):
                pass
        time.sleep(0.05)
    print(sent)

def cmd_listenfds(port, argv):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(128)
    pid = os.fork()
    if pid == 0:
        os.dup2(ls.fileno(), 3)
        os.set_inheritable(3, True)
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.execvp(argv[0], argv)
    ls.close()
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))

def cmd_notify(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    while True:
        d = s.recv(4096)
        with open(out, "ab") as f:
            f.write(d + b"\n")

if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "send":
        cmd_send(a[1], a[2])
    elif a[0] == "ctl":
        cmd_ctl(a[1], a[2])
    elif a[0] == "echo":
        cmd_echo(a[1])
    elif a[0] == "bulk":
        cmd_bulk(a[1], a[2])
    elif a[0] == "slowloris":
        hold(a[1], a[2], a[3], b"GET / HTTP/1.1\r\nHost: x\r\n", True)
    elif a[0] == "flood":
        cmd_flood(a[1], a[2], a[3], a[4])
    elif a[0] == "notify":
        cmd_notify(a[1], a[2])
    elif a[0] == "listenfds":
        cmd_listenfds(a[1], a[3:])
