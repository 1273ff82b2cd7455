#!/usr/bin/env bash
# Runs each libFuzzer target in DIR for SECONDS with its corpus (tests/fuzz/corpus/NAME,
# read only; new inputs go to a temporary directory). Prints "fuzz: N passed, N failed".
set -u
dir=$(cd "${1:?usage: run.sh DIR SECONDS}" && pwd)
secs=${2:-15}
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
for f in "$dir"/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus="$here/corpus/$name"
    mkdir -p "$corpus"
    work=$(mktemp -d)
    out=$(cd "$work" && ASAN_OPTIONS=detect_leaks=1 "$f" -max_total_time="$secs" -timeout=10 \
          -rss_limit_mb=2048 -print_final_stats=0 "$work" "$corpus" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1)); echo "PASS $name ($(printf '%s\n' "$out" | grep -o 'Done [0-9]* runs' | tail -1 | tr -dc '0-9') runs)"
    else
        failed=$((failed + 1)); echo "FAIL $name"; printf '%s\n' "$out" | tail -40
        cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$here/" 2>/dev/null
    fi
    rm -rf "$work"
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
