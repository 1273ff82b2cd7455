#!/usr/bin/env bash
# Before/after of the master's upgrade time: two builds of baton (each a build dir with
# baton and examples/httpapp), ROUNDS interleaved rounds of PER_ROUND upgrades each under
# a keep-alive load of 8 connections. The figure is the master's own, from its reply:
# switched_unix_ms - started_unix_ms (request taken up -> old generation stopped
# accepting; millisecond clock). Not run by `make bench` (it needs two builds):
#   bench/upgrade/compare.sh OLD_BUILD NEW_BUILD
set -u
a=$(cd "${1:?usage: compare.sh BUILD_A BUILD_B}" && pwd)
b=$(cd "${2:?usage: compare.sh BUILD_A BUILD_B}" && pwd)
ROUNDS=${ROUNDS:-5}
PER_ROUND=${PER_ROUND:-6}
. "$(dirname "$0")/../lib.sh"
tmp=$(bench_tmp compare)
master=
load=
cleanup() {
    [ -n "$load" ] && kill -INT "$load" 2>/dev/null
    [ -n "$master" ] && { kill -TERM "$master" 2>/dev/null; wait "$master" 2>/dev/null; }
    rm -rf "$tmp"
}
trap cleanup EXIT

# round BUILD LABEL: one master of BUILD, PER_ROUND upgrades under load, figures to LABEL.ms
round() {
    local build=$1 label=$2 port
    port=$(free_port)
    "$build/baton" run --name compare --control "$tmp/c.sock" --listen "127.0.0.1:$port" \
        --drain-timeout 5 -- "$build/examples/httpapp" --version v0 2>>"$tmp/$label.log" &
    master=$!
    wait_port "$port" || { echo "$label: baton run did not start"; return; }
    "$build/baton" load "http://127.0.0.1:$port/" --duration 600 --connections 8 >/dev/null 2>&1 &
    load=$!
    sleep 0.5
    for i in $(seq 1 "$PER_ROUND"); do
        "$build/baton" upgrade --json --control "$tmp/c.sock" -- "$build/examples/httpapp" \
            --version "v$i" | jq '.switched_unix_ms - .started_unix_ms' >>"$tmp/$label.ms"
        sleep 0.1
    done
    kill -INT "$load" 2>/dev/null
    wait "$load" 2>/dev/null
    load=
    "$build/baton" stop --control "$tmp/c.sock" >/dev/null 2>&1
    wait "$master" 2>/dev/null
    master=
}
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then round "$a" A; round "$b" B; else round "$b" B; round "$a" A; fi
done
stats() {
    sort -n "$tmp/$1.ms" 2>/dev/null | awk '{ a[NR] = $1 }
        function q(p) { i = int(p * (NR - 1) + 1.5); return a[i > NR ? NR : i] }
        END { if (NR) printf "%d %s %s %s %s %s", NR, q(0.5), q(0.25), q(0.75), a[1], a[NR] }'
}
read -r na ma a25 a75 amin amax <<<"$(stats A)"
read -r nb mb b25 b75 bmin bmax <<<"$(stats B)"
echo "request -> old generation stopped accepting, from the master's reply (ms), $ROUNDS interleaved rounds"
printf '%-6s %-40s %5s %7s %11s %11s\n' build dir upgrades median p25-p75 min-max
printf '%-6s %-40s %5s %7s %11s %11s\n' A "$a" "${na:-0}" "${ma:--}" "${a25:--}-${a75:--}" "${amin:--}-${amax:--}"
printf '%-6s %-40s %5s %7s %11s %11s\n' B "$b" "${nb:-0}" "${mb:--}" "${b25:--}-${b75:--}" "${bmin:--}-${bmax:--}"
awk -v a="${ma:-0}" -v b="${mb:-0}" 'BEGIN { if (a > 0) printf "B/A median: %.2fx\n", b / a }'
