#!/usr/bin/env bash
# What `make check` runs after building: unit tests (ASan+UBSan), integration tests
# against the sanitized baton, and a short fuzz run. Prints one closing summary line.
set -u
cd "$(dirname "$0")/.."
total_p=0 total_f=0
stage() {
    local log out rc p f
    log=$(mktemp)
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    out=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    rm -f "$log"
    p=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
    f=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    total_p=$((total_p + ${p:-0}))
    total_f=$((total_f + ${f:-0}))
    [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && total_f=$((total_f + 1))
}
stage make --no-print-directory style
stage make --no-print-directory unit
stage make --no-print-directory integration
stage make --no-print-directory fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
echo
echo "check: $total_p passed, $total_f failed"
[ $total_f -eq 0 ]
