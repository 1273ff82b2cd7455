#!/usr/bin/env bash
# `baton run` under a Type=notify supervisor: with NOTIFY_SOCKET and WATCHDOG_USEC set
# (a fake systemd socket, notify_listener.py), the master sends, in order and from its
# own pid only: STATUS while generation 1 starts, READY=1 once it serves; RELOADING=1
# with MONOTONIC_USEC then READY=1 around an upgrade, and around an upgrade that is
# rolled back; RELOADING=1 before a re-exec and MAINPID + READY=1 after it; STOPPING=1;
# and WATCHDOG=1 from its loop. Its workers never write to the supervisor's socket.
. "$(dirname "$0")/../../lib/master.sh"
sock=$T_DIR/notify.sock
got=$T_DIR/notify.jsonl
python3 "$(dirname "$0")/notify_listener.py" "$sock" "$got" 2>"$T_DIR/listener.log" &
track $!
wait_for 30 test -S "$sock" || fail "the fake NOTIFY_SOCKET did not start"
sent() { grep -c "$1" "$got" 2>/dev/null; }

export NOTIFY_SOCKET=$sock WATCHDOG_USEC=300000
master_start -- "$APP" --version v1
unset NOTIFY_SOCKET WATCHDOG_USEC
wait_for 30 grep -q 'READY=1' "$got" || fail "no READY=1 after the first generation served"
master_ctl upgrade -- "$APP" --version v2 >/dev/null || fail "upgrade to v2 failed"
master_ctl upgrade -- "$APP" --version v3 --fail-at-start >/dev/null 2>&1 && fail "a broken upgrade succeeded"
master_ctl reexec >/dev/null || fail "reexec failed"
wait_for 30 grep -q 'MAINPID=' "$got" || fail "no MAINPID after the re-exec"
wait_for 30 test "$(sent WATCHDOG=1)" -ge 1 || fail "no WATCHDOG=1"
master_stop
wait_for 30 grep -q 'STOPPING=1' "$got" || fail "no STOPPING=1"

python3 - "$got" "$MASTER" "$APP" <<'PY' || fail "the notifications are wrong (above)"
import json, re, sys
path, master, app = sys.argv[1], int(sys.argv[2]), sys.argv[3]
msgs = [json.loads(line) for line in open(path)]
for m in msgs:
    assert m["pid"] == master, f"a datagram from pid {m['pid']}, not the master {master}: {m}"
watchdog = [m for m in msgs if m["text"] == "WATCHDOG=1"]
rest = [m for m in msgs if m["text"] != "WATCHDOG=1"]
R = r"RELOADING=1\nMONOTONIC_USEC=(\d+)\n"
want = [
    r"STATUS=generation 1 starting",
    r"READY=1\nSTATUS=generation 1 serves",
    R + r"STATUS=upgrade: generation 2 starting",
    r"READY=1\nSTATUS=generation 2 serves",
    R + r"STATUS=upgrade: generation 3 starting",
    r"READY=1\nSTATUS=generation 3 rolled back: worker \d+ exited with status \d+ before it was ready; generation 2 serves",
    R + r"STATUS=re-executing '.*/baton'",
    r"MAINPID=%d\nREADY=1\nSTATUS=re-executed \(#1\); generation 2 serves" % master,
    r"STOPPING=1\nSTATUS=stopping: draining every generation",
]
texts = [m["text"] for m in rest]
if len(texts) != len(want):
    sys.exit("got %d datagrams, want %d:\n%s" % (len(texts), len(want), "\n".join(map(repr, texts))))
for m, w in zip(rest, want):
    got = re.fullmatch(w, m["text"])
    if not got:
        sys.exit(f"got {m['text']!r}\nwant {w!r}")
    if w.startswith(R):  # the reload's moment: on CLOCK_MONOTONIC, before it was received
        usec = int(got.group(1))
        assert 0 < m["mono_us"] - usec < 10_000_000, (usec, m["mono_us"])
print(f"{len(rest)} notifications in order, {len(watchdog)} WATCHDOG=1", file=sys.stderr)
PY
