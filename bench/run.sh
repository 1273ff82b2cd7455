#!/usr/bin/env bash
# `make bench`: runs every bench/*/run.sh with the release build directory. Benchmarks
# print tables of ratios against peers measured in the same run; they never fail a build
# on time (a bench that cannot run says why and the others go on).
set -u
build=$(cd "${1:-build/rel}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# run_bench NAME SCRIPT [VAR=VALUE...]: one bench under its time limit
run_bench() {
    local name=$1 b=$2 limit=600
    shift 2
    echo
    echo "=== bench/$name ==="
    [ "${CHURN_FULL:-0}" = 1 ] && limit=7200 # bench/upgrade/memory.sh: 3 rounds of 1000 upgrades
    env BENCH_SECONDS="${BENCH_SECONDS:-}" "$@" timeout -k 10 "$limit" "$b" "$build" || echo "(bench $name exited $?)"
}
for b in "$here"/*/run.sh; do
    [ -x "$b" ] || continue
    run_bench "$(basename "$(dirname "$b")")" "$b"
done
# the proxies again, each held to half a CPU, as in a container with a CPU limit
run_bench "proxy (each proxy capped at 0.5 CPU)" "$here/proxy/run.sh" BENCH_CPU_LIMIT=0.5
