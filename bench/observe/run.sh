#!/usr/bin/env bash
# The cost of watching: the master's memory (RSS and Pss, its own share of pages) with
# and without `--metrics`, idle and right after a burst of scrapes of /metrics and the
# status page's /api/status, in interleaved rounds; nginx's master (same machine, same
# run) as the peer a small master is held to. Prints median and spread per case, and
# the ratios against the master without --metrics. Never fails on figures.
set -u
. "$(dirname "$0")/../lib.sh"
bench_build "${1:-}"
ROUNDS=${ROUNDS:-3}
SCRAPES=${SCRAPES:-2000}
tmp=$(bench_tmp observe)
pids=()
cleanup() {
    "$BATON" stop --control "$tmp/b.sock" >/dev/null 2>&1
    [ -f "$tmp/nginx.pid" ] && kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
mem() { # mem PID: "RSS_kB PSS_kB"
    echo "$(ps -o rss= -p "$1" | tr -d ' ') $(awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup")"
}

declare -A rss pss
add() { rss[$1]="${rss[$1]:-} $2"; pss[$1]="${pss[$1]:-} $3"; }

# One round of baton: CASE is plain, metrics (idle) or scraped (after SCRAPES scrapes).
baton_round() {
    local port mport args=()
    port=$(free_port)
    mport=$(free_port)
    [ "$1" != plain ] && args=(--metrics "127.0.0.1:$mport")
    "$BATON" run --name bench-observe --control "$tmp/b.sock" --listen "127.0.0.1:$port" \
        "${args[@]}" -- "$APP" --version v1 2>>"$tmp/baton.log" &
    local pid=$!
    pids+=("$pid")
    wait_http "http://127.0.0.1:$port/" || { echo "baton did not start" >&2; return 1; }
    if [ "$1" = scraped ]; then
        "$BATON" load "http://127.0.0.1:$mport/metrics" --close --connections 4 \
            --requests "$SCRAPES" --json >"$tmp/scrape.json" 2>/dev/null
        "$BATON" load "http://127.0.0.1:$mport/api/status" --close --connections 4 \
            --requests "$SCRAPES" --json >"$tmp/status.json" 2>/dev/null
        failed=$(($(jq .failed "$tmp/scrape.json") + $(jq .failed "$tmp/status.json")))
        p50=$(jq -r '.latency_ms.p50 // .latency.p50 // "?"' "$tmp/scrape.json")
    fi
    add "$1" $(mem "$pid")
    "$BATON" stop --control "$tmp/b.sock" >/dev/null 2>&1
    wait "$pid" 2>/dev/null
}

nginx_round() {
    local port
    port=$(free_port)
    nginx_up "$tmp" "$port" v1 || return 1
    wait_http "http://127.0.0.1:$port/" || return 1
    add nginx $(mem "$(cat "$tmp/nginx.pid")")
    kill -QUIT "$(cat "$tmp/nginx.pid")"
    for _ in $(seq 100); do [ -f "$tmp/nginx.pid" ] || break; sleep 0.05; done
}

failed=0 p50="?"
for r in $(seq "$ROUNDS"); do
    for c in plain metrics scraped; do baton_round "$c"; done
    [ -x "$NGINX" ] && nginx_round
done

median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { printf '%s\n' $1 | sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

echo "master memory, $ROUNDS interleaved rounds (kB; median and min-max)"
printf '%-34s %8s %13s %8s %13s %9s\n' case RSS spread Pss spread "Pss ratio"
base=$(median "${pss[plain]}")
for c in plain metrics scraped nginx; do
    [ -n "${rss[$c]:-}" ] || continue
    label=$c
    case $c in
    plain) label="baton run" ;;
    metrics) label="baton run --metrics (idle)" ;;
    scraped) label="baton run --metrics (after scrapes)" ;;
    nginx) label="nginx master (peer)" ;;
    esac
    printf '%-34s %8s %13s %8s %13s %9s\n' "$label" "$(median "${rss[$c]}")" "$(spread "${rss[$c]}")" \
        "$(median "${pss[$c]}")" "$(spread "${pss[$c]}")" "$(ratio "$(median "${pss[$c]}")" "$base")"
done
echo "scrapes per round: $SCRAPES of /metrics and $SCRAPES of /api/status, $failed failed; /metrics p50 latency ${p50} ms (last round)"
