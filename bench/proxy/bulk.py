#!/usr/bin/env python3
# The client of bench/proxy/bulk.sh: GETs /bulk (Content-Length) through a proxy and
# straight from the server, N pairs in the order A B B A ..., and prints one line per
# GET: "proxy BYTES_PER_S CPU_MS" or "direct BYTES_PER_S CPU_MS" (connect to last byte;
# CPU_MS is the client's own CPU for that GET, user and system).
# Usage: bulk.py N PROXY_PORT DIRECT_PORT READ_BYTES
import socket
import sys
import time


def get(port, buf):
    t0 = time.perf_counter()
    c0 = time.thread_time()
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(b"GET /bulk HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        n = s.recv_into(buf)
        if n == 0:
            sys.exit("bulk.py: port %d closed before the end of the head" % port)
        head += bytes(buf[:n])
    h, _, rest = head.partition(b"\r\n\r\n")
    if not h.startswith(b"HTTP/1.1 200 "):
        sys.exit("bulk.py: port %d answered %r" % (port, h.split(b"\r\n")[0]))
    length = None
    for line in h.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    if length is None:
        sys.exit("bulk.py: port %d answered without Content-Length" % port)
    got = len(rest)
    while got < length:
        n = s.recv_into(buf)
        if n == 0:
            sys.exit("bulk.py: port %d closed after %d of %d bytes" % (port, got, length))
        got += n
    t1 = time.perf_counter()
    c1 = time.thread_time()
    s.close()
    return length / (t1 - t0), (c1 - c0) * 1000


def main():
    n, proxy, direct, read = (int(a) for a in sys.argv[1:5])
    buf = memoryview(bytearray(read))
    for i in range(2 * n):
        side = ((i + 1) // 2) % 2  # 0 1 1 0 0 1 1 0 ...
        port = (proxy, direct)[side]
        rate, cpu_ms = get(port, buf)
        print("%s %d %.3f" % (("proxy", "direct")[side], rate, cpu_ms), flush=True)


main()
