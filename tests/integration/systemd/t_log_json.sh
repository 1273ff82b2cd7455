#!/usr/bin/env bash
# `baton run --log-format json` (proxy mode: the master and its proxy worker): every line
# baton writes is one JSON object with time, level, role, pid, generation and event;
# the steps of an upgrade and a re-exec come as events of their generation, in order;
# a hostile command name (quote, tab, backslash, UTF-8) stays inside its string (bytes
# that are not UTF-8 are tests/unit/test_log.c's).
# The app's own stderr goes to its own file: those lines are the app's, not baton's.
# Then `baton proxy --log-format json` on its own: every line a JSON object too.
. "$(dirname "$0")/../../lib/master.sh"
hostile=$T_DIR/$'app"\t\\é'
printf '#!/bin/sh\nexec "%s" "$@" 2>>"%s"\n' "$APP" "$T_DIR/app.log" >"$hostile"
chmod +x "$hostile"
master_start_proxy --log-format json -- "$hostile" --version v1
master_ctl upgrade -- "$hostile" --version v2 >/dev/null || fail "upgrade to v2 failed"
wait_for 30 status_holds '.generations | length == 1' || fail "generation 1 did not exit"
master_ctl reexec >/dev/null || fail "reexec failed"
wait_for 30 status_holds '.reexecs == 1' || fail "the re-exec did not take over"
master_stop
[ "$(version_now 2>/dev/null)" = "" ] || fail "something still answers after stop"

python3 - "$T_DIR/master.log" "$MASTER" "$hostile" <<'PY' || fail "the JSON log is wrong (above)"
import json, sys
path, master, hostile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
keys = {"time", "level", "role", "pid", "generation", "event", "msg"}
lines = open(path, "rb").read().split(b"\n")
assert lines[-1] == b"", "the log does not end with a newline"
events, roles = [], set()
for n, raw in enumerate(lines[:-1], 1):
    try:
        j = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        sys.exit(f"line {n} is not JSON ({e}): {raw[:200]!r}")
    if set(j) != keys:
        sys.exit(f"line {n} has keys {sorted(j)}, want {sorted(keys)}")
    assert j["level"] in ("debug", "info", "warn", "error"), j
    assert isinstance(j["pid"], int) and j["pid"] > 0, j
    assert j["generation"] is None or isinstance(j["generation"], int), j
    assert len(j["time"]) == 24 and j["time"].endswith("Z"), j
    roles.add(j["role"])
    if j["role"] == "master":
        assert j["pid"] == master, f"line {n}: master pid {j['pid']}, want {master}"
    if j["event"] != "message":
        events.append((j["event"], j["generation"]))
    if j["event"] == "upgrade-requested":
        want = "control: upgrade requested to " + hostile
        assert j["msg"] == want, (j["msg"], want)
assert roles == {"master", "proxy"}, roles
want = [("starting", 1), ("ready", 1), ("promoted", 1), ("switched", 1),
        ("upgrade-requested", None), ("starting", 2), ("ready", 2), ("promoted", 2),
        ("switched", 2), ("draining", 1), ("exited", 1), ("reexec", None),
        ("draining", 2), ("exited", 2)]
if events != want:
    sys.exit(f"events {events}\n  want {want}")
PY
grep -q "v1 drained" "$T_DIR/app.log" || fail "the app's own lines did not reach app.log"

# `baton proxy` on its own: its lines (start, a backend added at runtime, a hostile
# backend name refused, the stop) are JSON objects too.
pport=$(free_port)
"$BATON" proxy --listen "127.0.0.1:$pport" --control "$T_DIR/px.sock" --log-format json \
    --backend "b1=127.0.0.1:$(free_port)" 2>"$T_DIR/proxy.log" &
px=$!
track $px
wait_for 30 port_open "$pport" || fail "baton proxy did not start"
"$BATON" backend add --control "$T_DIR/px.sock" $'x"\\y' "127.0.0.1:1" >/dev/null 2>&1
kill -TERM $px
wait $px || fail "baton proxy exited non-zero after SIGTERM"
python3 - "$T_DIR/proxy.log" <<'PY' || fail "the proxy's JSON log is wrong (above)"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
for n, raw in enumerate(lines, 1):
    j = json.loads(raw)
    assert j["role"] == "proxy" and set(j) == {"time", "level", "role", "pid", "generation", "event", "msg"}, (n, raw)
PY
