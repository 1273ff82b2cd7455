#!/usr/bin/env bash
# The master's own pages (anonymous pages plus the resident pages of its executable) are
# the same, to within one page, after each of 15 re-execs of the release build: its stack
# is the same pages in every image, whatever random gap the kernel leaves below the
# arguments, and the heap's free pages are given back once it settles. Its stack alone
# must be the same size after every re-exec. Memory bounds, never timings.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/master.sh"
BATON=${BATON_REL:-$BATON} # the sanitizers' shadow and allocator are not the master's
master_start --workers 2 --drain-timeout 3 -- "$APP" --version v1
for v in 2 3 4; do
    master_ctl upgrade -- "$APP" --version "v$v" >/dev/null || fail "upgrade to v$v failed"
done
exe=$(readlink -f "$BATON")
# own: "OWN STACK" in kB once the master settled (one generation, no operation)
own() {
    wait_for 30 status_holds '(.generations | length) == 1 and .operation == null' ||
        fail "the master did not settle: $(master_ctl status --json)"
    awk -v exe="$exe" '/^[0-9a-f]+-[0-9a-f]+ / {name = $6}
        /^Rss:/ { if (name == exe) x += $2; if (name == "[stack]") s += $2 }
        /^Anonymous:/ { a += $2 }
        END { print a + x, s }' "/proc/$MASTER/smaps"
}
: >"$T_DIR/own"
for i in $(seq 1 15); do
    master_ctl reexec >/dev/null || fail "re-exec $i failed"
    wait_for 30 status_holds ".reexecs == $i and .pid == $MASTER" ||
        fail "re-exec $i did not take over: $(master_ctl status --json)"
    own >>"$T_DIR/own"
done
read -r lo hi slo shi < <(sort -n "$T_DIR/own" | awk 'NR == 1 {lo = $1} {hi = $1}
    NR == 1 || $2 < slo {slo = $2} NR == 1 || $2 > shi {shi = $2} END {print lo, hi, slo, shi}')
log "own pages after each re-exec: $lo..$hi kB; stack $slo..$shi kB"
[ "$slo" -gt 0 ] && [ "$slo" = "$shi" ] ||
    fail "the master's stack is not the same pages after every re-exec: $(tr '\n' ' ' <"$T_DIR/own")"
[ $((hi - lo)) -le 4 ] ||
    fail "the master's own pages vary by more than a page across re-execs: $(tr '\n' ' ' <"$T_DIR/own")"
[ "$(version_now)" = v4 ] || fail "v4 does not serve after 15 re-execs: $(version_now)"
master_stop
