# A strict HTTP/1.1 backend for the smuggling suite: h11 parses every request the proxy
# forwards, and the bytes must be exactly the canonical form of what h11 parsed (CRLF
# lines, "Name: value" fields, one framing field, chunks re-serialized as parsed), so
# no leniency of h11's own can hide an ambiguity. Anything else is a VIOLATION.
#
#   strict_backend.py PORT DIR
# Writes DIR/log (one JSON object a line: {"conn":N,"raw":TEXT} per request,
# {"conn":N,"violation":WHY} per violation). Answers each request 200 with the body
# "METHOD TARGET", unless DIR/respond holds raw response bytes (used once, then removed;
# with DIR/respond.bad beside it, that connection may never carry another request).
import json, os, socket, sys, threading

import h11

DIR = sys.argv[2]
lock = threading.Lock()
conn_ids = iter(range(1, 1 << 30))


def record(obj):
    with lock, open(os.path.join(DIR, "log"), "a") as f:
        f.write(json.dumps(obj) + "\n")


def canonical(req, chunks, body, chunked):
    out = b"%s %s HTTP/%s\r\n" % (req.method, req.target, req.http_version)
    for name, value in req.headers.raw_items():
        out += name + (b": " + value if value else b":") + b"\r\n"
    out += b"\r\n"
    if chunked:
        for c in chunks:
            out += b"%x\r\n%s\r\n" % (len(c), c)
        out += b"0\r\n\r\n"
    else:
        out += body
    return out


def scripted():
    path = os.path.join(DIR, "respond")
    with lock:
        if not os.path.exists(path):
            return None, False
        data = open(path, "rb").read()
        os.unlink(path)
        bad = os.path.exists(path + ".bad")
        if bad:
            os.unlink(path + ".bad")
    return data, bad


def serve(sock):
    cid = next(conn_ids)
    conn = h11.Connection(h11.SERVER)
    raw = b""
    tainted = False
    req, chunks, cur, body, chunked = None, [], b"", b"", False
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(65536)
                raw += data
                conn.receive_data(data)
                if not data:
                    return
                continue
            if isinstance(event, h11.Request):
                if tainted:
                    record({"conn": cid, "violation": "connection reused after an ambiguous response"})
                req, chunks, cur, body = event, [], b"", b""
                te = [v for n, v in event.headers if n == b"transfer-encoding"]
                chunked = te == [b"chunked"]
            elif isinstance(event, h11.Data):
                body += event.data
                cur += event.data
                if event.chunk_end:
                    chunks.append(cur)
                    cur = b""
            elif isinstance(event, h11.EndOfMessage):
                want = canonical(req, chunks, body, chunked)
                if not raw.startswith(want):
                    record({"conn": cid, "violation": "not canonical: %r" % raw[: len(want) + 40]})
                    return
                raw = raw[len(want):]
                record({"conn": cid, "raw": want.decode("latin-1")})
                answer, bad = scripted()
                if answer is not None:
                    # raw bytes, bypassing h11: a fresh state reads what follows
                    sock.sendall(answer)
                    tainted = tainted or bad
                    conn = h11.Connection(h11.SERVER)
                    conn.receive_data(raw)
                    continue
                text = req.method + b" " + req.target
                out = conn.send(h11.Response(status_code=200, headers=[("Content-Length", str(len(text)))]))
                if req.method != b"HEAD":
                    out += conn.send(h11.Data(data=text))
                sock.sendall(out + conn.send(h11.EndOfMessage()))
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return
    except h11.RemoteProtocolError as e:
        record({"conn": cid, "violation": "h11: %s (bytes %r)" % (e, raw[:200])})
    except OSError:
        pass
    finally:
        sock.close()


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(sys.argv[1])))
    ls.listen(128)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
