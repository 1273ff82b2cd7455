#!/usr/bin/env python3
# A one-way bulk stream with a pause and a half-close, for the tcp relay's splice path:
#   stream.py serve PORT FILE UPLOAD_OUT   server: sends FILE in two halves with a pause
#       between them, shuts down its sending side, then reads the client's upload until
#       EOF and writes it to UPLOAD_OUT (one connection, then exits)
#   stream.py fetch PORT FILE UPLOAD       client: reads until EOF, checks the bytes are
#       FILE's, then sends UPLOAD over the half-closed connection and shuts down
import socket
import sys
import time


def read_to_eof(s):
    got = bytearray()
    while True:
        d = s.recv(1 << 20)
        if not d:
            return bytes(got)
        got += d


def serve(port, path, out):
    data = open(path, "rb").read()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(8)
    while True:
        c, _ = ls.accept()
        c.settimeout(60)
        first = b""  # the proxy's probes connect and close: wait for a client
        while len(first) < 5:
            d = c.recv(5 - len(first))
            if not d:
                break
            first += d
        if first != b"HELLO":
            c.close()
            continue
        break
    half = len(data) // 2
    c.sendall(data[:half])  # streamed fast: large splice reads in the proxy
    time.sleep(0.3)  # the proxy finds the socket empty and waits on epoll
    c.sendall(data[half:])
    c.shutdown(socket.SHUT_WR)
    open(out, "wb").write(read_to_eof(c))
    c.close()


def fetch(port, path, upload):
    want = open(path, "rb").read()
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
    s.sendall(b"HELLO")
    got = read_to_eof(s)
    if got != want:
        print("stream: received %d of %d bytes, %s" % (len(got), len(want),
              "different bytes" if len(got) == len(want) else "wrong length"))
        sys.exit(1)
    s.sendall(open(upload, "rb").read())  # the other direction still works
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        print("stream: bytes after the server's EOF")
        sys.exit(1)
    print("stream: %d bytes intact, upload sent after the half-close" % len(got))


if __name__ == "__main__":
    {"serve": serve, "fetch": fetch}[sys.argv[1]](*sys.argv[2:])
