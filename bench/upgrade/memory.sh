#!/usr/bin/env bash
# The master's memory across many upgrades and re-execs, beside nginx's master measured
# in the same run: CHURN_UPGRADES upgrades (default 1000), then CHURN_REEXECS re-execs
# (default 100), bounded by CHURN_SECONDS (default 400; what was done is reported). RSS
# (VmRSS), own pages (Pss, /proc/PID/smaps_rollup) and private pages (Private_Clean +
# Private_Dirty: Pss without the shares of pages other processes map, which move with
# whatever else runs on the machine), anonymous pages (Pss_Anon: heap, stack and data,
# what the master allocates itself) and the pages of the baton executable it maps,
# sampled with no request in flight, with the master's open descriptors and generations.
set -u
build=$(cd "${1:?usage: memory.sh BUILD_DIR}" && pwd)
BATON=$build/baton
APP=$build/examples/httpapp
UPS=${CHURN_UPGRADES:-1000}
REEXECS=${CHURN_REEXECS:-100}
CAP=${CHURN_SECONDS:-400}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
tmp=$(mktemp -d /tmp/baton-bench-memory.XXXXXX)
chmod 755 "$tmp"
master=
cleanup() {
    [ -f "$tmp/nginx.pid" ] && kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null
    "$BATON" stop --control "$tmp/b.sock" >/dev/null 2>&1
    [ -n "$master" ] && { kill -TERM "$master" 2>/dev/null; wait "$master" 2>/dev/null; }
    sleep 0.2
    rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/../lib.sh"
# mem PID: "RSS PSS PRIVATE ANON BINARY" in kB
mem() {
    local rss pss priv anon bin
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null)
    read -r pss priv anon < <(awk '/^Pss:/ {p = $2} /^Private_(Clean|Dirty):/ {v += $2}
        /^Pss_Anon:/ {a = $2} END {print p + 0, v + 0, a + 0}' "/proc/$1/smaps_rollup" 2>/dev/null)
    bin=$(awk -v exe="$(readlink -f "$BATON")" '/^[0-9a-f]+-[0-9a-f]+ / {in_exe = ($6 == exe)}
        in_exe && /^Rss:/ {r += $2} END {print r + 0}' "/proc/$1/smaps" 2>/dev/null)
    echo "${rss:-0} ${pss:-0} ${priv:-0} ${anon:-0} ${bin:-0}"
}
status() { "$BATON" status --json --control "$tmp/b.sock"; }

nport=$(free_port)
nginx_conf "$tmp" "$nport"
echo 'set $ver idle;' >"$tmp/version.conf"
"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" 2>"$tmp/nginx-start.log" && wait_port "$nport" ||
    rm -f "$tmp/nginx.pid"

port=$(free_port)
"$BATON" run --name benchmemory --control "$tmp/b.sock" --listen "127.0.0.1:$port" \
    --drain-timeout 5 -- "$APP" --version v0 2>"$tmp/master.log" &
master=$!
wait_port "$port" || { echo "memory: baton run did not start"; exit 0; }
deadline=$((SECONDS + CAP))
upgrade() { "$BATON" upgrade --control "$tmp/b.sock" -- "$APP" --version "v$1" >/dev/null 2>&1; }
# sample LABEL: one line of the table, kept in samples.tsv
sample() {
    local st m fds
    st=$(status)
    m=$(mem "$master")
    fds=$(ls "/proc/$master/fd" 2>/dev/null | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\n' "$phase" "$1" "${m// /$'\t'}" "$fds" \
        "$(jq '.generations | length' <<<"$st")" >>"$tmp/samples.tsv"
}
phase=upgrades
for i in $(seq 1 10); do upgrade "w$i"; done # warm-up: every path has run once
sample "after 10 warm-up upgrades"
done_up=0
while [ "$done_up" -lt "$UPS" ] && [ "$SECONDS" -lt "$deadline" ]; do
    upgrade "$done_up" || continue
    done_up=$((done_up + 1))
    [ $((done_up % 100)) -eq 0 ] && sample "after $done_up upgrades"
done
[ $((done_up % 100)) -ne 0 ] && sample "after $done_up upgrades"
done_re=0
phase=reexecs
while [ "$done_re" -lt "$REEXECS" ] && [ "$SECONDS" -lt "$deadline" ]; do
    "$BATON" reexec --control "$tmp/b.sock" >/dev/null 2>&1 || break
    done_re=$((done_re + 1))
    for _ in $(seq 100); do
        [ "$(status 2>/dev/null | jq -r '.reexecs // 0')" = "$done_re" ] && break
        sleep 0.02
    done
    [ $((done_re % 10)) -eq 0 ] && sample "after $done_re reexecs"
done
[ $((done_re % 10)) -ne 0 ] && sample "after $done_re reexecs"
[ -f "$tmp/nginx.pid" ] && ngx_end=$(mem "$(cat "$tmp/nginx.pid")") || ngx_end="0 0 0 0 0"

echo "the master's memory: $done_up of $UPS upgrades, then $done_re of $REEXECS reexecs (cap ${CAP} s)"
printf '%-28s %9s %9s %11s %8s %10s %5s %5s\n' "checkpoint" "RSS kB" "Pss kB" "private kB" \
    "anon kB" "binary kB" "fds" "gens"
awk -F'\t' '{ printf "%-28s %9s %9s %11s %8s %10s %5s %5s\n", $2, $3, $4, $5, $6, $7, $8, $9 }' \
    "$tmp/samples.tsv"
# range SELECTION: the min..max of RSS, Pss, private and anonymous pages over the samples
# of one phase (upgrades: one image; reexecs: each sample after a re-exec) or of all, in %
# of the first
range() {
    awk -F'\t' -v sel="$1" '
        sel != "all" && $1 != sel { next }
        { for (c = 3; c <= 6; c++) { v = $c; if (!n) f[c] = lo[c] = hi[c] = v
            if (v < lo[c]) lo[c] = v; if (v > hi[c]) hi[c] = v }; n++ }
        END {
            if (!n) { printf "%-9s no samples\n", sel; exit }
            printf "%-9s %2d samples: RSS %d..%d kB (%.1f%%), Pss %d..%d kB (%.1f%%), private %d..%d kB (%.1f%%), anon %d..%d kB (%.1f%%)\n",
                sel, n, lo[3], hi[3], 100 * (hi[3] - lo[3]) / f[3], lo[4], hi[4], 100 * (hi[4] - lo[4]) / f[4],
                lo[5], hi[5], 100 * (hi[5] - lo[5]) / f[5], lo[6], hi[6], 100 * (hi[6] - lo[6]) / f[6]
        }' "$tmp/samples.tsv"
}
echo "ranges (goal: Pss within +-1%, below nginx's master):"
range upgrades
range reexecs
range all
read -r nrss npss npriv _ _ <<<"$ngx_end"
last=$(tail -1 "$tmp/samples.tsv")
if [ "${npss:-0}" -gt 0 ]; then
    awk -F'\t' -v r="$nrss" -v p="$npss" -v v="$npriv" '{
        printf "nginx master (idle, same run): RSS %d kB, Pss %d kB, private %d kB; baton/nginx at the end: RSS %.2fx, Pss %.2fx, private %.2fx\n",
            r, p, v, $3 / r, $4 / p, $5 / v }' <<<"$last"
else
    echo "nginx master: not measured (nginx did not start)"
fi
