#!/usr/bin/python3
"""reuseport-listen.py COMMAND [ARG...]: binds the first address of $BATON_LISTEN (else
127.0.0.1:$PORT) with SO_REUSEPORT, puts the listening socket at fd 3 and execs
COMMAND with LISTEN_FDS=1 and LISTEN_PID (systemd's convention), for a runtime that
cannot set SO_REUSEPORT itself (Node.js before 22.12 / 23.1). The pid stays the same
across the exec, so `baton run --mode reuseport` finds the socket in the app."""
import os
import socket
import sys


def main():
    if len(sys.argv) < 2:
        print("usage: reuseport-listen.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    shared = os.environ.get("BATON_LISTEN", "").split()
    addr = shared[0] if shared else "127.0.0.1:" + os.environ.get("PORT", "")
    host, _, port = addr.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((host, int(port)))
        s.listen(1024)
    except (OSError, ValueError) as e:
        print(f"reuseport-listen.py: cannot listen on '{addr}': {e}", file=sys.stderr)
        return 1
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)  # dup2 clears close-on-exec
        s.close()
    else:
        os.set_inheritable(3, True)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
