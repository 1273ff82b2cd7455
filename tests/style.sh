#!/usr/bin/env bash
# Static checks of `make check`: cppcheck finds nothing, and every tracked C file is
# formatted by the repo's .clang-format; the code keeps its shape (scripts/shape-check.sh);
# no shell pipe into "grep -q".
# Prints "style: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
if out=$(make --no-print-directory lint 2>&1); then
    passed=$((passed + 1)); echo "PASS cppcheck"
else
    failed=$((failed + 1)); echo "FAIL cppcheck"; printf '%s\n' "$out" | tail -20
fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests examples -name '*.[ch]')
bad=$(for f in $files; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -z "$bad" ]; then
    passed=$((passed + 1)); echo "PASS clang-format"
else
    failed=$((failed + 1)); echo "FAIL clang-format (run 'make format'):"; printf '  %s\n' $bad
fi
if out=$(scripts/shape-check.sh 2>&1); then
    passed=$((passed + 1)); echo "PASS shape (functions of at most 80 lines, no file circle in a folder)"
else
    failed=$((failed + 1)); echo "FAIL shape:"; grep -v '^known: ' <<<"$out" | sed 's/^/  /'
fi
# Tests run under pipefail: "cmd | grep -q" fails when grep exits at its first match and
# cmd, still writing, dies of SIGPIPE (seen: curl of /metrics, 2 runs in 15 on a busy
# machine). "grep ... >/dev/null" reads to the end and exits the same way.
bad=$(git ls-files '*.sh' '*.case' | grep -vx tests/style.sh | xargs grep -nE '(^|[^|])\|[[:space:]]*grep[[:space:]]+-[A-Za-z]*q' 2>/dev/null)
if [ -z "$bad" ]; then
    passed=$((passed + 1)); echo "PASS shell pipes (no '| grep -q' under pipefail)"
else
    failed=$((failed + 1)); echo "FAIL shell pipes: '| grep -q' (write 'grep ... >/dev/null'):"
    printf '  %s\n' "$bad"
fi
echo "style: $passed passed, $failed failed"
[ $failed -eq 0 ]
