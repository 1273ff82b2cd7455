#!/usr/bin/env bash
# `make demo`: the main job, end to end, on the embedded default. A live app is upgraded
# three times under load (one upgrade fails and is rolled back by itself), and the
# load generator shows that no request failed.
set -euo pipefail
build=$(cd "${1:-build/rel}" && pwd)
BATON=$build/baton
APP=$build/examples/httpapp
demo=$(mktemp -d /tmp/baton-demo.XXXXXX)
ctl=$demo/baton.sock
cleanup() {
    "$BATON" stop --control "$ctl" >/dev/null 2>&1 || true
    [ -n "${master:-}" ] && { sleep 0.3; kill -KILL "$master" 2>/dev/null || true; }
    rm -rf "$demo"
}
trap cleanup EXIT

port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || shuf -i 20000-60000 -n 1)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

say "1. baton run: a master holds 127.0.0.1:$port and runs 2 workers of the app (v1)"
echo "\$ baton run --listen 127.0.0.1:$port --workers 2 --drain-timeout 5 -- httpapp --version v1 &"
"$BATON" run --control "$ctl" --listen "127.0.0.1:$port" --workers 2 --drain-timeout 5 \
    -- "$APP" --version v1 2>"$demo/master.log" &
master=$!
for _ in $(seq 100); do "$BATON" status --control "$ctl" >/dev/null 2>&1 && break; sleep 0.1; done
show "$BATON" status --control "$ctl"

say "2. load: 16 keep-alive connections for 6 s while we upgrade"
"$BATON" load "http://127.0.0.1:$port/" --duration 6 --connections 16 >"$demo/load.txt" &
load=$!
sleep 1

say "3. upgrade to v2, then v3: each new generation starts beside the old one"
show "$BATON" upgrade --control "$ctl" -- "$APP" --version v2
sleep 1
show "$BATON" upgrade --control "$ctl" -- "$APP" --version v3
sleep 1

say "4. a broken v4 that exits at start: baton rolls back by itself, v3 keeps serving"
if "$BATON" upgrade --control "$ctl" -- "$APP" --version v4 --fail-at-start; then
    echo "unexpected: the broken upgrade succeeded" >&2
    exit 1
fi
show "$BATON" status --control "$ctl"

say "5. what the clients saw"
wait "$load" || true
cat "$demo/load.txt"
failed=$(awk '/^failed/ {print $2}' "$demo/load.txt")
if [ "$failed" != "0" ]; then
    echo "demo: $failed requests failed; master log:" >&2
    tail -20 "$demo/master.log" >&2
    exit 1
fi
echo
echo "demo: 3 upgrade attempts (one rolled back) under load, 0 failed requests."
