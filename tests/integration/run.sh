#!/usr/bin/env bash
# Runs the integration tests (tests/integration/*/t_*.sh) one at a time, each with a
# time limit, and prints "integration: N passed, N failed". T=PATTERN selects tests.
set -u
here=$(cd "$(dirname "$0")" && pwd)
logs=${TEST_LOGS:-$(pwd)/build/test-logs}
mkdir -p "$logs"
limit=${TEST_TIMEOUT:-900}
passed=0 failed=0 failures=()
for t in $(find "$here" -name 't_*.sh' | sort); do
    name=${t#"$here"/}
    case "$name" in *${T:-}*) ;; *) continue ;; esac
    log="$logs/${name//\//_}.log"
    start=$SECONDS
    timeout -k 10 "$limit" bash "$t" >"$log" 2>&1
    rc=$?
    took=$((SECONDS - start))
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1)); echo "PASS $name (${took}s)"
    else
        failed=$((failed + 1)); failures+=("$name")
        [ $rc -eq 124 ] && echo "FAIL $name (timed out after ${limit}s)" || echo "FAIL $name (exit $rc, ${took}s)"
        tail -40 "$log" | sed 's/^/    /'
    fi
done
echo "integration: $passed passed, $failed failed"
[ $failed -eq 0 ]
