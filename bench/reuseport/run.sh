#!/usr/bin/env bash
# Side-by-side upgrades on one port compared in one run, each under the same --close
# load (a new connection per request, 32 at a time) from `baton load`: `baton run
# --mode reuseport` without protection, with tcp_migrate_req and with the BPF program;
# nginx's binary upgrade (USR2/WINCH/QUIT, sockets inherited); baton's handoff mode.
# Prints failed requests per upgrade and throughput against handoff mode (no proxy hop
# in either), as the median and spread of interleaved rounds. Each run has a network
# namespace of its own (tcp_migrate_req starts off there); needs root. Never fails on
# figures.
set -u
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
BATON=$build/baton
APP=$build/examples/httpapp
N=${UPGRADES:-5}
ROUNDS=${ROUNDS:-3}
METHODS=(rp-none rp-migrate rp-bpf nginx-binary handoff)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PORT=18080
URL=http://127.0.0.1:$PORT/

wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# --- one run, inside its own network namespace: prints "FAILED REQUESTS DURATION_MS" ---
baton_start() {
    "$BATON" run --control "$tmp/baton.sock" --listen "127.0.0.1:$PORT" --drain-timeout 10s \
        "$@" -- "$APP" --version v0 2>"$tmp/baton.log" &
    wait_port
}
baton_upgrade() { "$BATON" upgrade --control "$tmp/baton.sock" -- "$APP" --version "$1" >/dev/null; }
baton_stop() { "$BATON" stop --control "$tmp/baton.sock" >/dev/null 2>&1; }

nginx_start() {
    cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/cb; proxy_temp_path $tmp/px; fastcgi_temp_path $tmp/fc;
    uwsgi_temp_path $tmp/uw; scgi_temp_path $tmp/sc;
    server {
        listen 127.0.0.1:$PORT;
        include $tmp/version.conf;
        location / { default_type text/plain; add_header X-Version \$ver; return 200 "\$ver\n"; }
    }
}
CONF
    echo "set \$ver v0;" >"$tmp/version.conf"
    "$NGINX" -p "$tmp" -c "$tmp/nginx.conf" 2>>"$tmp/nginx-start.log" && wait_port
}
nginx_upgrade() {
    echo "set \$ver $1;" >"$tmp/version.conf"
    local old
    old=$(cat "$tmp/nginx.pid")
    kill -USR2 "$old"
    for _ in $(seq 500); do
        [ -f "$tmp/nginx.pid.oldbin" ] && [ -s "$tmp/nginx.pid" ] && [ "$(cat "$tmp/nginx.pid")" != "$old" ] && break
        sleep 0.01
    done
    kill -WINCH "$old"
    kill -QUIT "$old"
    for _ in $(seq 1000); do kill -0 "$old" 2>/dev/null || break; sleep 0.01; done
}
nginx_stop() { kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null; sleep 0.3; }

one_run() {
    ip link set lo up
    tmp=$(mktemp -d /tmp/baton-bench-reuseport.XXXXXX)
    chmod 755 "$tmp"
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
        echo "- - -"
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
    jq -r '"\(.failed) \(.requests) \(.duration_ms)"' "$tmp/load.json" 2>/dev/null || echo "- - -"
    rm -rf "$tmp"
}
if [ "${2:-}" = --one ]; then
    one_run "$3"
    exit 0
fi

# --- the rounds, interleaved, each run in a fresh network namespace ---
[ "$(id -u)" = 0 ] || { echo "bench/reuseport needs root (network namespaces, BPF)"; exit 0; }
declare -A fails rates
for ((r = 1; r <= ROUNDS; r++)); do
    for m in "${METHODS[@]}"; do
        read -r failed requests ms < <(unshare --net -- bash "$0" "$build" --one "$m")
        [ "$failed" = - ] && continue
        fails[$m]+="$(awk -v f="$failed" -v n="$N" 'BEGIN { printf "%.2f", f / n }') "
        rates[$m]+="$(awk -v q="$requests" -v t="$ms" 'BEGIN { printf "%.0f", q * 1000 / t }') "
        echo "round $r $m: $failed failed of $requests in $ms ms"
    done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
span() { tr ' ' '\n' | grep . | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) print lo "-" hi; else print "-" }'; }
base=$(med <<<"${rates[handoff]:-}")
echo "$N upgrades per run under --close load (32 connections), $ROUNDS interleaved rounds"
printf '%-14s %16s %12s %10s %9s\n' method "failed/upgrade" spread "req/s" "vs handoff"
for m in "${METHODS[@]}"; do
    rate=$(med <<<"${rates[$m]:-}")
    ratio=$(awk -v a="$rate" -v b="$base" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }')
    printf '%-14s %16s %12s %10s %9s\n' "$m" "$(med <<<"${fails[$m]:-}")" "$(span <<<"${fails[$m]:-}")" "$rate" "$ratio"
done
