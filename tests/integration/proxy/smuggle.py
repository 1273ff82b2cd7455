# Runs request-smuggling cases (tests/integration/proxy/smuggling/*.case) against a
# running `baton proxy --mode http --no-xff` in front of strict_backend.py.
#
#   smuggle.py PROXY_PORT BACKEND_DIR CASE_FILE...
#
# A case file is data, one "key: value" a line (values take \r \n \t \xNN escapes;
# '#' lines say what the case guards and where it comes from):
#   client:   bytes the client sends (several lines are joined); then it half-closes
#   status:   the statuses the client must get, in order (e.g. "400"); an error status
#             must be the last thing on the connection before the proxy closes it
#   backend:  one whole request exactly as the backend must receive it (repeatable;
#             none = nothing may reach the backend)
#   response: raw bytes the backend answers with instead of its own 200
#   response-reuse: no   the backend connection that sent `response` must never carry
#             another request (an ambiguous response)
#   reply:    the exact bytes the client must get (several lines are joined)
# After each case a "victim" request on a new connection must be answered by the
# backend as itself: a poisoned pooled backend connection would show here.
# Prints "PASS name" or "FAIL name: why" per case; exits 1 if any failed.
import json, os, re, socket, sys, time

VICTIM = b"GET /victim HTTP/1.1\r\nHost: victim\r\n\r\n"


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def parse_case(path):
    case = {"client": b"", "status": [], "backend": [], "response": None, "reuse": True, "reply": None}
    for line in open(path, encoding="latin-1"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(": ")
        if key == "client":
            case["client"] += unescape(value)
        elif key == "status":
            case["status"] += [int(v) for v in value.split()]
        elif key == "backend":
            case["backend"].append(unescape(value))
        elif key == "response":
            case["response"] = (case["response"] or b"") + unescape(value)
        elif key == "reply":
            case["reply"] = (case["reply"] or b"") + unescape(value)
        elif key == "response-reuse":
            case["reuse"] = value.strip() != "no"
        else:
            raise SystemExit("%s: unknown key %r" % (path, key))
    return case


def exchange(port, data):
    """Sends data, half-closes, reads until the proxy closes: (bytes, closed).
    The request's last bytes and the FIN leave in one segment (TCP_CORK, then the
    shutdown sends what is held with the FIN on it), so the proxy has seen the client's
    half-close before the backend can answer, and a reply deterministically carries the
    "Connection: close" that a half-closed client gets. Sent apart, a busy machine may
    let the response head go out before the proxy reads the FIN."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the proxy may close before it has read everything (after a 400)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out, True
            out += d
    except ConnectionResetError:
        return out, True
    except socket.timeout:
        return out, False
    finally:
        s.close()


def statuses(data):
    """The status of each response in data (no HEAD requests in the cases)."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        m = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
        if end < 0 or not m:
            return out + ["unparsable: %r" % data[:80]]
        head, data = data[:end].lower(), data[end + 4:]
        out.append(int(m.group(1)))
        length = re.search(rb"\r\ncontent-length: (\d+)", head)
        if out[-1] < 200 or out[-1] in (204, 304):
            continue
        if length:
            data = data[int(length.group(1)):]
        elif b"\r\ntransfer-encoding: chunked" in head:
            while True:
                line, _, data = data.partition(b"\r\n")
                if not re.fullmatch(rb"[0-9a-f]+", line):
                    return out  # cut short: the proxy closed in the middle of the body
                size = int(line, 16)
                data = data[size + 2:] if size else data.partition(b"\r\n")[2]
                if not size:
                    break
        else:
            data = b""
    return out


class Backend:
    def __init__(self, d):
        self.dir = d
        self.log = os.path.join(d, "log")
        self.seen = 0

    def settle(self):
        """New log records once the log has not grown for 150 ms (at most 5 s)."""
        last, stable_since, end = -1, time.time(), time.time() + 5
        while time.time() < end:
            size = os.path.getsize(self.log) if os.path.exists(self.log) else 0
            if size != last:
                last, stable_since = size, time.time()
            elif time.time() - stable_since >= 0.15:
                break
            time.sleep(0.02)
        lines = open(self.log).read().splitlines() if os.path.exists(self.log) else []
        new = [json.loads(l) for l in lines[self.seen:]]
        self.seen = len(lines)
        return new


def run_case(port, backend, path):
    case = parse_case(path)
    respond = os.path.join(backend.dir, "respond")
    if case["response"] is not None:
        if not case["reuse"]:
            open(respond + ".bad", "w").close()
        with open(respond, "wb") as f:
            f.write(case["response"])
    data, closed = exchange(port, case["client"])
    got = statuses(data)
    if got != case["status"]:
        return "client got statuses %s, expected %s: %r" % (got, case["status"], data[:300])
    if not closed:
        return "the proxy did not close the connection"
    if case["reply"] is not None and data != case["reply"]:
        return "client got %r, expected %r" % (data, case["reply"])
    records = backend.settle()
    if os.path.exists(respond):
        os.unlink(respond)
        return "the backend never got the request it had to answer"
    bad = [r["violation"] for r in records if "violation" in r]
    if bad:
        return "strict backend: " + "; ".join(bad)
    raw = [r["raw"].encode("latin-1") for r in records]
    if raw != case["backend"]:
        return "backend received %r, expected %r" % (raw, case["backend"])
    data, closed = exchange(port, VICTIM)
    if statuses(data) != [200] or not data.endswith(b"GET /victim"):
        return "victim request answered %r" % data[:300]
    records = backend.settle()
    bad = [r["violation"] for r in records if "violation" in r]
    if bad:
        return "strict backend, victim: " + "; ".join(bad)
    if [r.get("raw", "").encode("latin-1") for r in records] != [VICTIM]:
        return "victim request reached the backend as %r" % records
    return None


def main():
    port, backend = int(sys.argv[1]), Backend(sys.argv[2])
    failed = 0
    for path in sys.argv[3:]:
        name = os.path.basename(path)
        why = run_case(port, backend, path)
        if why:
            failed += 1
            print("FAIL %s: %s" % (name, why))
            backend.settle()  # what came late belongs to this case, not the next
        else:
            print("PASS %s" % name)
        sys.stdout.flush()
    print("smuggling: %d passed, %d failed" % (len(sys.argv) - 3 - failed, failed))
    sys.exit(1 if failed else 0)


main()
