#!/usr/bin/env bash
# Where a bulk transfer's time goes through each proxy (not a test, not part of `make
# bench`): 10 MB GETs from nginx (sendfile) through baton tcp and http, HAProxy tcp and
# http (nbthread 1), each proxied GET paired with a direct one (A B B A); ROUNDS rounds,
# the proxies in turn, each under `perf stat` for its GETs. Prints per proxy the median
# of the per-pair ratios (proxied / direct bytes/s) with their spread, per GET the
# client's own CPU through the proxy and direct (whether a proxy on the path makes the
# client work more, or only wait), and per GET the proxy's CPU, context switches and
# system calls by kind. BULK_READ sets the client's read size (4 MB: a client that takes
# the bytes as fast as they come; 16384: curl's).
# Needs perf and the right to trace the processes (root, or perf_event_paranoid <= 1).
# Usage: bench/proxy/bulk.sh [BUILD_DIR]   (build/rel)
set -u
BUILD=$(cd "${1:-build/rel}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${BENCH_ROUNDS:-5}
PAIRS=${BULK_PAIRS:-4}
READ=${BULK_READ:-4194304}
W=$(mktemp -d /tmp/baton-bulk-proxy.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT
for tool in haproxy nginx perf python3; do command -v $tool >/dev/null || { echo "bulk: $tool missing"; exit 1; }; done
# free_port, wait_port PORT
. "$HERE/../lib.sh"

BULK_PORT=$(free_port)
mkdir -p "$W/www" "$W/nginx"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$W/www/bulk"
chmod 755 "$W" "$W/www" && chmod 644 "$W/www/bulk" # nginx's workers are not root
cat >"$W/nginx/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $W/nginx/pid; error_log $W/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on;
  client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx;
  uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
  server { listen 127.0.0.1:$BULK_PORT; root $W/www; } }
NGX
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>/dev/null & PIDS+=($!)
declare -A PORT PID
for mode in tcp http; do
    p=$(free_port)
    "$BUILD/baton" proxy --mode $mode --listen "127.0.0.1:$p" --backend "bulk=127.0.0.1:$BULK_PORT" \
        --control "$W/baton-$mode.sock" --log-level warn 2>>"$W/baton.log" & PIDS+=($!)
    PORT[baton-$mode]=$p PID[baton-$mode]=$!
    p=$(free_port)
    haproxy_conf "$W/haproxy-$mode.cfg" $mode 1 "" "bulk:$p:$BULK_PORT"
    haproxy -f "$W/haproxy-$mode.cfg" 2>>"$W/haproxy.log" & PIDS+=($!)
    PORT[haproxy-$mode]=$p PID[haproxy-$mode]=$!
done
NAMES=(baton-tcp baton-http haproxy-tcp haproxy-http)
wait_port "$BULK_PORT" || { echo "bulk: nginx did not start"; exit 1; }
for k in "${NAMES[@]}"; do wait_port "${PORT[$k]}" || { echo "bulk: $k did not start"; exit 1; }; done

EVENTS=task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_splice,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl
echo "bulk: 10 MB GETs from nginx, $ROUNDS rounds of $PAIRS pairs (proxied, direct: A B B A) per proxy; client reads $READ bytes at a time"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
declare -A RATIOS STATS CLIENT DIRECT
median() { sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "-"}'; }
# values LIST: the space-separated LIST one per line
values() { tr ' ' '\n' <<<"$1" | grep .; }
for ((r = 0; r < ROUNDS; r++)); do
    for ((j = 0; j < ${#NAMES[@]}; j++)); do
        k=${NAMES[$(((j + r) % ${#NAMES[@]}))]}
        perf stat -x, -e "$EVENTS" -p "${PID[$k]}" -o "$W/stat" -- \
            python3 "$HERE/bulk.py" "$PAIRS" "${PORT[$k]}" "$BULK_PORT" "$READ" >"$W/gets" ||
            { echo "bulk: the client failed through $k"; exit 1; }
        # per-pair ratios: GETs come as p d d p p d d p ..., pair them in that order
        RATIOS[$k]+=$(awk '{v[NR]=$2} END {for (i = 1; i < NR; i += 2) {p = v[i]; d = v[i+1];
            if (i % 4 == 3) {p = v[i+1]; d = v[i]}; printf "%.3f ", p / d}}' "$W/gets")
        CLIENT[$k]+=$(awk '$1 == "proxy" {printf "%s ", $3}' "$W/gets")
        DIRECT[$k]+=$(awk '$1 == "direct" {printf "%s ", $3}' "$W/gets")
        STATS[$k]+=$(awk -F, -v n="$PAIRS" '/^[0-9.]+,/ {e=$3; sub(/.*sys_enter_?/, "", e); if (e == "") e="syscalls";
            if ($3 == "task-clock") e="cpu_ms"; else if ($3 == "context-switches") e="cs"; printf "%s=%.2f,", e, $1 / n}' "$W/stat")" "
    done
done
printf '\n%-13s %8s %13s %10s %10s %8s %6s %9s %7s %9s %7s %11s %10s\n' proxy "/direct" "spread" "client ms" "direct ms" "CPU ms" "ctxsw" "syscalls" "splice" "recvfrom" "sendto" "epoll_wait" "epoll_ctl"
for k in "${NAMES[@]}"; do
    field() { values "${STATS[$k]}" | tr ',' '\n' | awk -F= -v f="$1" '$1 == f {print $2}' | median; }
    printf '%-13s %7sx %13s %10s %10s %8s %6s %9s %7s %9s %7s %11s %10s\n' "$k" "$(values "${RATIOS[$k]}" | median)" \
        "$(values "${RATIOS[$k]}" | sort -g | sed -n '1p;$p' | paste -sd-)" \
        "$(values "${CLIENT[$k]}" | median)" "$(values "${DIRECT[$k]}" | median)" \
        "$(field cpu_ms)" "$(field cs)" "$(field syscalls)" "$(field splice)" "$(field recvfrom)" "$(field sendto)" "$(field epoll_wait)" "$(field epoll_ctl)"
done
echo "(ratio: median of the per-pair ratios; client ms / direct ms: the client's own CPU per GET through the proxy"
echo " and straight from nginx, medians of all GETs; the other figures: per GET, medians of the rounds)"
