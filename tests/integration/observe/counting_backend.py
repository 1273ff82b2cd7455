# An HTTP/1.1 backend that counts the bytes it reads from and writes to its sockets
# (python3 standard library only), so a test can compare them with the proxy's byte
# counters exactly. GET or POST /bytes/N answers N bytes ("x"); a request body
# (Content-Length) is read whole first. After every response, and when a connection
# ends, "READ WRITTEN" (totals over every connection) is written to OUT.
#   counting_backend.py PORT OUT
import os, socket, sys, threading

lock = threading.Lock()
totals = [0, 0]

def publish(out):
    with lock:
        text = "%d %d\n" % (totals[0], totals[1])
        tmp = out + ".tmp.%d" % threading.get_ident()
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, out)

def count(i, n):
    with lock:
        totals[i] += n

def serve(c, out):
    data = b""
    try:
        while True:
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                count(0, len(d))
                data += d
            head, data = data.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            length = 0
            for l in lines[1:]:
                k, _, v = l.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            while len(data) < length:
                d = c.recv(65536)
                if not d:
                    return
                count(0, len(d))
                data += d
            data = data[length:]
            n = int(path.rsplit("/", 1)[1]) if path.startswith("/bytes/") else 0
            resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + b"x" * n
            c.sendall(resp)
            count(1, len(resp))
            publish(out)
    except OSError:
        pass
    finally:
        c.close()
        publish(out)

def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    publish(out)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, out), daemon=True).start()

main()
