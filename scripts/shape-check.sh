#!/usr/bin/env bash
# The shape checks of `make style`: no function in src/ over 80 lines
# (scripts/long-functions.py) and no circle of files inside a folder of src/
# (scripts/file-circles.py, run on every folder). A finding listed in
# scripts/shape-known.txt is reported but does not fail; any other does.
# Prints the findings and exits 1 on a new one.
set -u
cd "$(dirname "$0")/.."
known=scripts/shape-known.txt
findings=$(
    python3 scripts/long-functions.py src 2>/dev/null |
        sed -n 's/^\([^:]*\):[0-9]*: \([A-Za-z_0-9]*\) is .*/long \1: \2/p'
    for d in src/*/; do
        python3 scripts/file-circles.py "${d%/}" | sed -n "s|^  CIRCLE: |circle ${d%/}: |p"
    done
)
new=0
while IFS= read -r f; do
    [ -n "$f" ] || continue
    if grep -qxF -- "$f" "$known"; then
        echo "known: $f"
    else
        echo "NEW: $f"
        new=$((new + 1))
    fi
done <<<"$findings"
while IFS= read -r k; do
    case "$k" in '' | '#'*) continue ;; esac
    grep -qxF -- "$k" <<<"$findings" || echo "gone (remove it from $known): $k"
done <"$known"
[ $new -eq 0 ]
