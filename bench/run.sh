#!/usr/bin/env bash
# `make bench`: runs every bench/*/run.sh with the release build directory. Benchmarks
# print tables of ratios against peers measured in the same run; they never fail a build
# on time (a bench that cannot run says why and the others go on).
set -u
build=$(cd "${1:-build/rel}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
for b in "$here"/*/run.sh; do
    [ -x "$b" ] || continue
    echo
    echo "=== bench/$(basename "$(dirname "$b")") ==="
    limit=600
    [ "${CHURN_FULL:-0}" = 1 ] && limit=7200 # bench/upgrade/memory.sh: 3 rounds of 1000 upgrades
    BENCH_SECONDS=${BENCH_SECONDS:-} timeout -k 10 "$limit" "$b" "$build" || echo "(bench $(basename "$(dirname "$b")") exited $?)"
done
