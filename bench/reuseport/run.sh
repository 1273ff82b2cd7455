#!/usr/bin/env bash
# Side-by-side upgrades on one port compared in one run, each under the same --close
# load (a new connection per request, 32 at a time) from `baton load`: `baton run
# --mode reuseport` without protection, with tcp_migrate_req and with the BPF program;
# nginx's binary upgrade (USR2/WINCH/QUIT, sockets inherited); baton's handoff mode.
# Prints failed requests per upgrade, throughput (req/s) and the server's CPU time per
# request (the master and its workers, from the rusage of reaped children; not for
# nginx, whose new master is not our child) against handoff mode (no proxy hop in
# either). Every method runs once per round, in an order rotated each round; a ratio
# is the median of the rounds' own ratios to the handoff run of the same round (so a
# machine whose load drifts between rounds moves both sides), with its spread. Each
# run has a network namespace of its own (tcp_migrate_req starts off there); needs
# root. Never fails on figures.
set -u
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"
bench_build "${1:-}"
N=${UPGRADES:-5}
ROUNDS=${ROUNDS:-5}
METHODS=(rp-none rp-migrate rp-bpf nginx-binary handoff)
PORT=18080
URL=http://127.0.0.1:$PORT/

# --- one run, inside its own network namespace: "FAILED REQUESTS DURATION_MS CPU_S" ---
# The master runs in a subshell that prints, once it exited, the CPU time of its
# reaped children: the master, and the workers it reaped.
baton_start() {
    (
        "$BATON" run --control "$tmp/baton.sock" --listen "127.0.0.1:$PORT" --drain-timeout 10s \
            "$@" -- "$APP" --version v0 2>"$tmp/baton.log"
        times >"$tmp/cpu"
    ) &
    master=$!
    wait_port "$PORT"
}
baton_upgrade() { "$BATON" upgrade --control "$tmp/baton.sock" -- "$APP" --version "$1" >/dev/null; }
baton_stop() { "$BATON" stop --control "$tmp/baton.sock" >/dev/null 2>&1; wait "$master"; }
# The seconds of user and system time of `times`'s second line (the children's).
cpu_seconds() {
    [ -s "$1" ] || { echo -; return; }
    tail -1 "$1" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } print t }'
}

nginx_start() { nginx_up "$tmp" "$PORT" v0; }
nginx_upgrade() { nginx_binary_upgrade "$tmp" "$1"; }
nginx_stop() { kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null; sleep 0.3; }

one_run() {
    ip link set lo up
    tmp=$(bench_tmp reuseport)
    local start upgrade stop
    case $1 in
    rp-none) start=(baton_start --mode reuseport --protect none) ;;
    rp-migrate) start=(baton_start --mode reuseport --protect tcp-migrate-req) ;;
    rp-bpf) start=(baton_start --mode reuseport --protect bpf --ready http:/) ;;
    handoff) start=(baton_start) ;;
    nginx-binary) start=(nginx_start) ;;
    esac
    upgrade=baton_upgrade stop=baton_stop
    [ "$1" = nginx-binary ] && upgrade=nginx_upgrade stop=nginx_stop
    if ! "${start[@]}"; then
        echo "- - - -"
        rm -rf "$tmp"
        return
    fi
    "$BATON" load "$URL" --close --connections 32 --until-file "$tmp/stop" --max-duration 2m \
        --json >"$tmp/load.json" 2>/dev/null &
    local load=$! i
    sleep 1
    for ((i = 1; i <= N; i++)); do
        "$upgrade" "v$i"
        sleep 0.7
    done
    touch "$tmp/stop"
    wait "$load"
    "$stop"
    echo "$(jq -r '"\(.failed) \(.requests) \(.duration_ms)"' "$tmp/load.json" 2>/dev/null || echo "- - -") $(cpu_seconds "$tmp/cpu")"
    rm -rf "$tmp"
}
if [ "${2:-}" = --one ]; then
    one_run "$3"
    exit 0
fi

# --- the rounds, interleaved, each run in a fresh network namespace ---
[ "$(id -u)" = 0 ] || { echo "bench/reuseport needs root (network namespaces, BPF)"; exit 0; }
declare -A fails rates cpus rate_ratio cpu_ratio
nm=${#METHODS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
    declare -A rate_now=() cpu_now=()
    for ((k = 0; k < nm; k++)); do
        m=${METHODS[$(((k + r) % nm))]}
        read -r failed requests ms cpu < <(unshare --net -- bash "$0" "$build" --one "$m")
        [ "${failed:--}" = - ] && continue
        fails[$m]+="$(awk -v f="$failed" -v n="$N" 'BEGIN { printf "%.2f", f / n }') "
        rate_now[$m]=$(awk -v q="$requests" -v t="$ms" 'BEGIN { printf "%.0f", q * 1000 / t }')
        rates[$m]+="${rate_now[$m]} "
        if [ "$cpu" != - ]; then
            cpu_now[$m]=$(awk -v c="$cpu" -v q="$requests" 'BEGIN { printf "%.1f", c * 1e6 / q }')
            cpus[$m]+="${cpu_now[$m]} "
        fi
        echo "round $r $m: $failed failed of $requests in $ms ms, server CPU ${cpu/#-/- }s"
    done
    for m in "${METHODS[@]}"; do
        [ -n "${rate_now[$m]:-}" ] && [ -n "${rate_now[handoff]:-}" ] &&
            rate_ratio[$m]+="$(awk -v a="${rate_now[$m]}" -v b="${rate_now[handoff]}" 'BEGIN { printf "%.2f", a / b }') "
        [ -n "${cpu_now[$m]:-}" ] && [ -n "${cpu_now[handoff]:-}" ] &&
            cpu_ratio[$m]+="$(awk -v a="${cpu_now[$m]}" -v b="${cpu_now[handoff]}" 'BEGIN { printf "%.2f", a / b }') "
    done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
span() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) print lo "-" hi; else print "-" }'; }
cell() { echo "$(med <<<"$1") ($(span <<<"$1"))"; }
echo "$N upgrades per run under --close load (32 connections), 1 worker, $ROUNDS interleaved rounds;"
echo "median (spread); ratios: median of each round's ratio to its handoff run"
printf '%-13s %-18s %-18s %-18s %-18s %-18s\n' method "failed/upgrade" "req/s" "req/s vs handoff" "CPU us/request" "CPU vs handoff"
for m in "${METHODS[@]}"; do
    printf '%-13s %-18s %-18s %-18s %-18s %-18s\n' "$m" "$(cell "${fails[$m]:-}")" "$(cell "${rates[$m]:-}")" \
        "$(cell "${rate_ratio[$m]:-}")" "$(cell "${cpus[$m]:-}")" "$(cell "${cpu_ratio[$m]:-}")"
done
