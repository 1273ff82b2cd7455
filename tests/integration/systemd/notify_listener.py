#!/usr/bin/env python3
"""A fake systemd NOTIFY_SOCKET for tests: binds a datagram socket at argv[1] with
SO_PASSCRED and appends each datagram to argv[2] as one JSON line: the sender's pid
(from the kernel's credentials), the text, and the receive time on CLOCK_MONOTONIC in
microseconds. Runs until SIGTERM."""
import json
import os
import signal
import socket
import struct
import sys
import time

path, out = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # the path appears once the socket is ready
with open(out, "a") as f:
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        f.write(json.dumps({"pid": pid, "text": data.decode("utf-8", "replace"),
                            "mono_us": time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}) + "\n")
        f.flush()
