#!/usr/bin/env bash
# `make demo`: the main job, end to end, on the embedded default. A live app is upgraded
# under load (one upgrade fails and is rolled back by itself) and the load generator
# shows that no request failed; then the database of the example releases is migrated
# forward on SQLite through expand, backfill and contract, stopping at a checkpoint.
set -euo pipefail
build=$(cd "${1:-build/rel}" && pwd)
BATON=$build/baton
APP=$build/examples/httpapp
here=$(cd "$(dirname "$0")/.." && pwd)
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
echo "\$ baton run --listen 127.0.0.1:$port --workers 2 --drain-timeout 5 --log-format json -- httpapp --version v1 2>master.log &"
"$BATON" run --control "$ctl" --listen "127.0.0.1:$port" --workers 2 --drain-timeout 5 \
    --log-format json -- "$APP" --version v1 2>"$demo/master.log" &
master=$!
for _ in $(seq 100); do "$BATON" status --control "$ctl" >/dev/null 2>&1 && break; sleep 0.1; done
show "$BATON" status --control "$ctl"

say "2. load: 16 keep-alive connections for 6 s while we upgrade, drawn with the master's events"
echo "\$ baton load http://127.0.0.1:$port/ --duration 6 --connections 16 --plot docs/demo-upgrade.svg --events master.log &"
rm -f "$here/docs/demo-upgrade.svg"
"$BATON" load "http://127.0.0.1:$port/" --duration 6 --connections 16 \
    --plot "$here/docs/demo-upgrade.svg" --events "$demo/master.log" >"$demo/load.txt" &
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
[ -s "$here/docs/demo-upgrade.svg" ] || { echo "demo: the plot was not drawn" >&2; exit 1; }
echo "(the timeline with the upgrades' events: docs/demo-upgrade.svg)"

say "6. baton migrate on SQLite: releases 1.0 -> 3.0 of the example app"
export BATON_DB=sqlite:$demo/app.db BATON_MIGRATIONS=$here/examples/migrations
show "$BATON" migrate expand --to 0001_create_users 2>/dev/null
sqlite3 "$demo/app.db" "INSERT INTO users(name, age, legacy) SELECT 'user' || value, value % 90, 'x' FROM generate_series(1, 20000)"
echo "(20000 users written by release 1.0)"
show "$BATON" migrate path --from 1.0 --to 3.0
echo "\$ baton migrate expand        # straight to 3.0: refused before any DDL"
if "$BATON" migrate expand 2>&1 | grep -v ' info: '; then :; fi
echo "\$ baton migrate expand --to 0003_rename_name     # expand, then a batched backfill"
"$BATON" migrate expand --to 0003_rename_name 2>&1 | grep -oE 'backfill stats: .*' || true
show "$BATON" migrate status
show "$BATON" migrate check --release 2.0
echo "(release 2.0 deployed and declared stable)"
"$BATON" migrate contract --to 0003_rename_name 2>/dev/null
show "$BATON" migrate expand 2>/dev/null
show "$BATON" migrate status
rows=$(sqlite3 "$demo/app.db" "SELECT count(*) FROM users WHERE full_name = 'user' || id")
[ "$rows" = 20000 ] || { echo "demo: expected 20000 migrated rows, found $rows" >&2; exit 1; }
echo
echo "demo: 3 upgrade attempts (one rolled back) under load, 0 failed requests;"
echo "      20000 rows renamed name -> full_name through expand/backfill/contract, 0 lost."
