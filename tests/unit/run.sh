#!/usr/bin/env bash
# Runs every cmocka unit test binary in DIR (built with ASan+UBSan) and prints the
# cmocka totals: "unit: N passed, N failed".
set -u
dir=${1:?usage: run.sh DIR}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
passed=0 failed=0
for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ -z "$f" ]; then
        echo "unit: $(basename "$t") exited $rc (crash or sanitizer report)"
        failed=$((failed + 1))
    fi
done
echo "unit: $passed passed, $failed failed"
[ $failed -eq 0 ]
