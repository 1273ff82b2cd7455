#!/usr/bin/env bash
# The master's own time in an upgrade, phase by phase ("last_upgrade" of `baton status
# --json`), over PHASE_UPGRADES upgrades under a keep-alive load of 8 connections. Each
# round also starts the app alone (spawn -> READY=1, with no master), so that the app's
# own start and baton's upgrade are measured under the same load, interleaved. Prints
# each phase's median, quartiles and range in milliseconds; never fails on time.
set -u
. "$(dirname "$0")/../lib.sh"
bench_build "${1:-}"
N=${PHASE_UPGRADES:-30}
tmp=$(bench_tmp phases)
load=
master=
cleanup() {
    [ -n "$load" ] && kill -INT "$load" 2>/dev/null
    "$BATON" stop --control "$tmp/b.sock" >/dev/null 2>&1
    [ -n "$master" ] && { kill -TERM "$master" 2>/dev/null; wait "$master" 2>/dev/null; }
    rm -rf "$tmp"
}
trap cleanup EXIT

# The app alone: spawned with a notify socket and a port of its own, timed from the
# spawn to its READY=1 (what the master's "spawn" and "app_start" phases add up to).
cat >"$tmp/alone.py" <<'PY'
import os, socket, subprocess, sys, time
d = sys.argv[2]
path = os.path.join(d, "alone.notify")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(30)
l = socket.socket(); l.bind(("127.0.0.1", 0)); port = l.getsockname()[1]; l.close()
env = dict(os.environ, NOTIFY_SOCKET=path, PORT=str(port))
t0 = time.monotonic()
p = subprocess.Popen([sys.argv[1], "--version", "alone"], env=env, stderr=subprocess.DEVNULL)
while b"READY=1" not in s.recv(4096):
    pass
print("%.3f" % ((time.monotonic() - t0) * 1000))
p.terminate(); p.wait(); s.close(); os.unlink(path)
PY

port=$(free_port)
"$BATON" run --name benchphases --control "$tmp/b.sock" --listen "127.0.0.1:$port" \
    --drain-timeout 5 -- "$APP" --version v0 2>"$tmp/master.log" &
master=$!
wait_port "$port" || { echo "phases: baton run did not start"; exit 0; }
"$BATON" load "http://127.0.0.1:$port/" --duration 600 --connections 8 --json \
    >"$tmp/load.json" 2>/dev/null &
load=$!
sleep 0.5
for i in $(seq 1 "$N"); do
    alone=$(python3 "$tmp/alone.py" "$APP" "$tmp" 2>/dev/null) || alone=
    "$BATON" upgrade --control "$tmp/b.sock" -- "$APP" --version "v$i" >/dev/null 2>&1 || continue
    "$BATON" status --json --control "$tmp/b.sock" |
        jq -r --arg alone "${alone:-null}" '.last_upgrade | select(.outcome == "switched") |
            .phases_ms | [.queue, .prepare, .spawn, .app_start, .promote, .stop, .total,
            .overhead, ($alone | tonumber? // null)] |
            (. + [if .[8] then .[6] - .[8] else null end]) | map(. // "-") | @tsv' \
            >>"$tmp/phases.tsv"
    sleep 0.1
done
kill -INT "$load" 2>/dev/null
wait "$load" 2>/dev/null
load=
failed=$(jq -r '.failed // "?"' "$tmp/load.json" 2>/dev/null)
requests=$(jq -r '.requests // "?"' "$tmp/load.json" 2>/dev/null)

rounds=$(wc -l <"$tmp/phases.tsv" 2>/dev/null || echo 0)
echo "the master's timeline: $rounds upgrades under keep-alive load ($requests requests, $failed failed); ms"
printf '%-44s %8s %17s %17s\n' "phase" "median" "p25-p75" "min-max"
names=("queue (request -> taken up)" "prepare (taken up -> spawn)" "spawn (clone -> every worker exec'd)"
    "app start (exec -> READY=1, the app's)" "promote (READY=1 -> old told to stop)"
    "stop (stop signal -> old stopped accepting)" "total (request -> old stopped accepting)"
    "baton's own (total - app start)" "app alone (spawn -> READY=1, no master)"
    "total - app alone (goal <= 5 ms)")
for c in $(seq 1 10); do
    cut -f"$c" "$tmp/phases.tsv" 2>/dev/null | grep -v '^-$' | sort -g | awk -v name="${names[$((c - 1))]}" '
        { a[NR] = $1 }
        function q(p) { i = int(p * (NR - 1) + 1.5); return a[i > NR ? NR : i] }
        END {
            if (NR == 0) { printf "%-44s %8s\n", name, "-"; exit }
            printf "%-44s %8.2f %8.2f-%-8.2f %8.2f-%-8.2f\n", name, q(0.5), q(0.25), q(0.75), a[1], a[NR]
        }'
done
