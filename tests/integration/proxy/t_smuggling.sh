#!/usr/bin/env bash
# Request smuggling: every case in smuggling/*.case (space before a colon, CL+TE, bad
# chunk framing, bare LF, obs-fold, HTTP/1.0 with TE, ambiguous responses...) runs
# against the real proxy in front of a strict h11 backend that fails on any byte that is
# not the canonical form; each case gets 400 and a close or exactly the normalized
# request, and a victim request after it shows no pooled backend connection poisoned.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
"$PY" -c 'import h11' 2>/dev/null || fail "python3-h11 is missing (make deps)"

BE=$(free_port)
mkdir -p "$T_DIR/backend"
"$PY" "$HERE/strict_backend.py" "$BE" "$T_DIR/backend" 2>>"$T_DIR/backend.log" &
track $!
wait_for 5 port_open "$BE" || fail "strict backend did not start"
start_proxy --mode http --no-xff --health none --backend "s=127.0.0.1:$BE"
: >"$T_DIR/backend/log" # start_proxy's probes are not requests
"$PY" "$HERE/smuggle.py" "$PX_PORT" "$T_DIR/backend" "$HERE"/smuggling/*.case >"$T_DIR/smuggle.out" 2>&1
rc=$?
cat "$T_DIR/smuggle.out" >&2
[ $rc -eq 0 ] || fail "$(grep -c ^FAIL "$T_DIR/smuggle.out") smuggling case(s) failed"
n=$(ls "$HERE"/smuggling/*.case | wc -l)
grep -q "^smuggling: $n passed, 0 failed" "$T_DIR/smuggle.out" || fail "not every case ran"
! grep -q violation "$T_DIR/backend/log" || fail "strict backend saw a violation"
grep -q "malformed request from client 127.0.0.1: obs-fold or whitespace at the start of a field line; answering 400" \
    "$T_DIR/proxy.log" || fail "no log line naming the rejected request's fault"
grep -q "malformed response from backend 's': " "$T_DIR/proxy.log" || fail "no log line for a 502"
stop_proxy
