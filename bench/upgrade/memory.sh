#!/usr/bin/env bash
# The master's memory across many upgrades and re-execs, beside nginx's master measured
# in the same run. Each of CHURN_ROUNDS rounds (default 1) starts a master, makes 10
# warm-up upgrades, CHURN_UPGRADES upgrades (default 200), then CHURN_REEXECS re-execs
# (default 20), bounded by CHURN_SECONDS per round (default 400; what was done is
# reported). CHURN_FULL=1 (`CHURN_FULL=1 make bench`) makes it 1000 upgrades, 100
# re-execs and 3 rounds, each bounded by its count (and a 1800 s cap it should not reach).
# Sampled every CHURN_UPGRADES/10 upgrades and CHURN_REEXECS/10 re-execs, once the master
# has settled (one generation, no operation): RSS (VmRSS), Pss (smaps_rollup: counts a
# share of libc's pages that follows how many processes map them), its own pages
# (anonymous pages, i.e. heap, stack, data and relocated tables, plus the resident pages
# of the baton executable, which no other process maps), each of those two, the
# descriptors and generations; nginx's master (1 worker, idle) at the same checkpoints
# (its executable is shared with its worker, so only its RSS, Pss and anonymous pages).
set -u
build=$(cd "${1:?usage: memory.sh BUILD_DIR}" && pwd)
BATON=$build/baton
APP=$build/examples/httpapp
if [ "${CHURN_FULL:-0}" = 1 ]; then
    UPS=${CHURN_UPGRADES:-1000} REEXECS=${CHURN_REEXECS:-100} CAP=${CHURN_SECONDS:-1800}
    ROUNDS=${CHURN_ROUNDS:-3}
else
    UPS=${CHURN_UPGRADES:-200} REEXECS=${CHURN_REEXECS:-20} CAP=${CHURN_SECONDS:-400}
    ROUNDS=${CHURN_ROUNDS:-1}
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
tmp=$(mktemp -d /tmp/baton-bench-memory.XXXXXX)
chmod 755 "$tmp"
master=
cleanup() {
    [ -f "$tmp/nginx.pid" ] && kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null
    stop_master
    sleep 0.2
    rm -rf "$tmp"
}
stop_master() {
    "$BATON" stop --control "$tmp/b.sock" >/dev/null 2>&1
    [ -n "$master" ] && { kill -TERM "$master" 2>/dev/null; wait "$master" 2>/dev/null; }
    master=
    rm -f "$tmp"/b.* # the next round starts afresh, not from this master's state
}
trap cleanup EXIT

. "$(dirname "$0")/../lib.sh"
exe=$(readlink -f "$BATON")
# mem PID: "RSS PSS OWN ANON EXE" in kB
mem() {
    local rss pss anon bin
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null)
    read -r pss anon < <(awk '/^Pss:/ {p = $2} /^Anonymous:/ {a = $2} END {print p + 0, a + 0}' \
        "/proc/$1/smaps_rollup" 2>/dev/null)
    bin=$(awk -v exe="$2" '/^[0-9a-f]+-[0-9a-f]+ / {in_exe = ($6 == exe)}
        in_exe && /^Rss:/ {r += $2} END {print r + 0}' "/proc/$1/smaps" 2>/dev/null)
    echo "${rss:-0} ${pss:-0} $((${anon:-0} + ${bin:-0})) ${anon:-0} ${bin:-0}"
}
status() { "$BATON" status --json --control "$tmp/b.sock"; }
settled() {
    for _ in $(seq 250); do
        status 2>/dev/null | jq -e '(.generations | length) == 1 and .operation == null' \
            >/dev/null && return 0
        sleep 0.02
    done
    return 1
}

nport=$(free_port)
nginx_conf "$tmp" "$nport"
echo 'set $ver idle;' >"$tmp/version.conf"
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" 2>"$tmp/nginx-start.log" && wait_port "$nport" ||
    rm -f "$tmp/nginx.pid"
nginx_exe=$(readlink -f "$NGINX")

upgrade() { "$BATON" upgrade --control "$tmp/b.sock" -- "$APP" --version "v$1" >/dev/null 2>&1; }
# sample ROUND PHASE LABEL: one line of samples.tsv, the master then nginx's master
sample() {
    local m n fds
    settled
    m=$(mem "$master" "$exe")
    fds=$(ls "/proc/$master/fd" 2>/dev/null | wc -l)
    n="0 0 0 0 0"
    [ -f "$tmp/nginx.pid" ] && n=$(mem "$(cat "$tmp/nginx.pid")" "$nginx_exe")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${m// /$'\t'}" "$fds" \
        "$(status | jq '.generations | length')" "${n// /$'\t'}" >>"$tmp/samples.tsv"
}
# round R: one master through the upgrades and the re-execs
round() {
    local r=$1 port deadline done_up=0 done_re=0 every_up every_re
    every_up=$(((UPS + 9) / 10)) every_re=$(((REEXECS + 9) / 10))
    port=$(free_port)
    "$BATON" run --name benchmemory --control "$tmp/b.sock" --listen "127.0.0.1:$port" \
        --drain-timeout 5 -- "$APP" --version v0 2>"$tmp/master.log" &
    master=$!
    wait_port "$port" || { echo "memory: baton run did not start"; return 1; }
    deadline=$((SECONDS + CAP))
    for i in $(seq 1 10); do upgrade "w$i"; done # warm-up: every path has run once
    sample "$r" upgrades "after 10 warm-up upgrades"
    while [ "$done_up" -lt "$UPS" ] && [ "$SECONDS" -lt "$deadline" ]; do
        upgrade "$done_up" || continue
        done_up=$((done_up + 1))
        [ $((done_up % every_up)) -eq 0 ] && sample "$r" upgrades "after $done_up upgrades"
    done
    [ $((done_up % every_up)) -ne 0 ] && sample "$r" upgrades "after $done_up upgrades"
    while [ "$done_re" -lt "$REEXECS" ] && [ "$SECONDS" -lt "$deadline" ]; do
        "$BATON" reexec --control "$tmp/b.sock" >/dev/null 2>&1 || break
        done_re=$((done_re + 1))
        for _ in $(seq 250); do
            [ "$(status 2>/dev/null | jq -r '.reexecs // 0')" = "$done_re" ] && break
            sleep 0.02
        done
        [ $((done_re % every_re)) -eq 0 ] && sample "$r" reexecs "after $done_re reexecs"
    done
    [ $((done_re % every_re)) -ne 0 ] && sample "$r" reexecs "after $done_re reexecs"
    echo "round $r: $done_up of $UPS upgrades, then $done_re of $REEXECS reexecs (cap ${CAP} s)" \
        >>"$tmp/rounds.txt"
    stop_master
}
for r in $(seq 1 "$ROUNDS"); do round "$r" || break; done

cat "$tmp/rounds.txt" 2>/dev/null
echo "own = anonymous pages + resident pages of the executable (what no other process maps)"
printf '%-5s %-28s %8s %7s %7s %7s %7s %4s %4s %12s %12s %12s\n' "round" "checkpoint" \
    "RSS kB" "Pss kB" "own kB" "anon kB" "exe kB" "fds" "gens" "nginx RSS kB" "nginx Pss kB" \
    "nginx anon kB"
awk -F'\t' '{ printf "%-5s %-28s %8s %7s %7s %7s %7s %4s %4s %12s %12s %12s\n",
    $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14 }' "$tmp/samples.tsv"
# spread ROUND PHASE: per measure, median and min..max over the samples of one round and
# phase ("all": both), the spread (max - min) in % of the median
spread() {
    awk -F'\t' -v r="$1" -v sel="$2" -v ngx="${3:-0}" '
        function median(a, n,   i, j, t) {
            for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--)
                a[j + 1] = a[j]; a[j + 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
        $1 != r || (sel != "all" && $2 != sel) { next }
        { n++; for (c = 4; c <= 6; c++) v[c, n] = $c; for (c = 11; c <= 13; c++) v[c, n] = $c }
        END {
            if (!n) { printf "%-5s %-9s no samples\n", r, sel; exit }
            split("RSS Pss own", name, " ")
            line = sprintf("%-5s %-9s %3d", r, sel, n)
            for (k = 1; k <= 3; k++) {
                c = k + 3; lo = hi = v[c, 1]
                for (i = 1; i <= n; i++) { a[i] = v[c, i]; if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
                m = median(a, n)
                line = line sprintf(" | %s %d (%d..%d, %.1f%%)", name[k], m, lo, hi, 100 * (hi - lo) / m)
                if (k == 2) pm = m; if (k == 3) om = m
            }
            for (i = 1; i <= n; i++) a[i] = v[12, i]; np = median(a, n)
            if (np > 0) line = line sprintf(" | nginx Pss %d, baton/nginx %.2fx", np, pm / np)
            print line
        }' "$tmp/samples.tsv"
}
echo "per round: median (min..max, spread = (max - min) / median); goal: own pages flat to 1%, Pss below nginx's master"
for r in $(seq 1 "$ROUNDS"); do
    spread "$r" upgrades
    spread "$r" reexecs
    spread "$r" all
done
