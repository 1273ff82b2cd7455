#!/usr/bin/env bash
# Runs the integration tests one at a time, each with a time limit, and prints
# "integration: N passed, N failed". A test is a script tests/integration/AREA/t_*.sh,
# or a case file AREA/cases/*.case run by that area's driver (AREA/driver.sh CASE).
# T=PATTERN selects tests by their path (run/, modeproxy/cases/rollback, ...).
set -u
here=$(cd "$(dirname "$0")" && pwd)
logs=${TEST_LOGS:-$(pwd)/build/test-logs}
mkdir -p "$logs"
limit=${TEST_TIMEOUT:-900}
passed=0 failed=0 failures=()
for t in $(find "$here" -name 't_*.sh' -o -path '*/cases/*.case' | sort); do
    name=${t#"$here"/}
    case "$name" in *${T:-}*) ;; *) continue ;; esac
    cmd=(bash "$t")
    case "$name" in */cases/*.case) cmd=(bash "${t%/cases/*}/driver.sh" "$t") ;; esac
    log="$logs/${name//\//_}.log"
    start=$SECONDS
    timeout -k 10 "$limit" "${cmd[@]}" >"$log" 2>&1
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
