#!/usr/bin/env bash
# Benchmarks `baton proxy` against its peers in one run (not a test: numbers only):
# wrk through baton tcp/http (1 worker, and --workers 2), HAProxy tcp/http (nbthread 1
# and 2) and nginx stream (1 worker), and straight to the backend. Every proxy runs
# from the start and the wrk runs are interleaved in BENCH_ROUNDS rounds (5), the rows
# of each ratio back to back, so a busy neighbour weighs on both sides alike; it prints the median requests/s and p99
# with their spread (min-max), median p50 and CPU per request, a 10 MB bulk transfer
# in bytes/s, RSS per 10k idle connections, system calls per request (perf, when it
# may count them), and ratios against the peers beside their goals. BENCH_BASELINE=DIR adds the http mode of another build
# (e.g. one before a change) as the row baton-http-base. BENCH_CPU_LIMIT=CPUS (e.g. 0.5)
# runs only the one-process rows of baton and HAProxy, each in a cgroup of its own capped
# at CPUS (needs root): the proxy, not wrk or the app, is then what limits requests/s.
# Usage: bench/proxy/run.sh [BUILD_DIR]   (default build/rel)
set -u
BUILD=$(cd "${1:-build/rel}" && pwd)
BATON=$BUILD/baton
APP=$BUILD/examples/httpapp
DUR=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-5}
BASE=${BENCH_BASELINE:+$(cd "$BENCH_BASELINE" && pwd)/baton}
CONNS=${BENCH_CONNECTIONS:-50}
CPU_LIMIT=${BENCH_CPU_LIMIT:-}
W=$(mktemp -d /tmp/baton-bench-proxy.XXXXXX)
PIDS=()
CAPS=()
cleanup() {
    stop_pids "${PIDS[@]}"
    [ -n "${CAP_ROOT:-}" ] && { wait 2>/dev/null; cpu_cap_remove "$CAP_ROOT" "${CAPS[@]}"; }
    rm -rf "$W"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# idle connections held for the RSS figure (two fds each in a tcp proxy), scaled to 10k
IDLE=$(( $(ulimit -n) / 3 )); [ "$IDLE" -gt 10000 ] && IDLE=10000

. "$(cd "$(dirname "$0")" && pwd)/../lib.sh" # free_port, wait_port PORT, stop_pids (cleanup)
for tool in wrk haproxy nginx; do command -v $tool >/dev/null || { echo "bench/proxy: $tool missing (make deps)"; exit 1; }; done
if [ -n "$CPU_LIMIT" ]; then
    CAP_ROOT=$(cpu_cap_root) || { echo "bench/proxy: no CPU limit possible, skipped"; exit 0; }
fi
# capped ROW PID: with BENCH_CPU_LIMIT, PID goes into a cgroup of its own capped at it
capped() {
    [ -n "$CPU_LIMIT" ] || return 0
    local name=baton-bench-$$-$1
    cpu_cap "$CAP_ROOT" "$name" "$CPU_LIMIT" "$2" || { echo "bench/proxy: cannot cap $1 (pid $2) in $CAP_ROOT/$name"; exit 1; }
    CAPS+=("$name")
}

# backends: httpapp for requests, nginx serving a 10 MB file for bulk transfers
APP_PORT=$(free_port)
PORT=$APP_PORT "$APP" --version bench 2>/dev/null & PIDS+=($!)
BULK_PORT=$(free_port)
mkdir -p "$W/www" "$W/nginx-bulk"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$W/www/bulk"
chmod 755 "$W" "$W/www" && chmod 644 "$W/www/bulk" # nginx's workers are not root
cat >"$W/nginx-bulk/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $W/nginx-bulk/pid; error_log $W/nginx-bulk/error.log;
events { worker_connections 4096; }
http { access_log off; sendfile on; keepalive_requests 1000000;
  client_body_temp_path $W/nginx-bulk; proxy_temp_path $W/nginx-bulk; fastcgi_temp_path $W/nginx-bulk;
  uwsgi_temp_path $W/nginx-bulk; scgi_temp_path $W/nginx-bulk;
  server { listen 127.0.0.1:$BULK_PORT; root $W/www; } }
NGX
nginx -c "$W/nginx-bulk/nginx.conf" -p "$W/nginx-bulk" 2>/dev/null & PIDS+=($!)
wait_port "$APP_PORT" && wait_port "$BULK_PORT" || { echo "bench/proxy: backends did not start"; exit 1; }

# the proxies: each listens on two ports, one to the app and one to the bulk server
start_baton() { # MODE [BINARY] [WORKERS] -> sets P_APP P_BULK BATON_APP_PID (with
    # workers: the workers' pids, comma-separated)
    local bin=${2:-$BATON} workers=${3:-1} tag=$1-$RANDOM
    P_APP=$(free_port); P_BULK=$(free_port)
    "$bin" proxy --mode "$1" --listen "127.0.0.1:$P_APP" --backend "app=127.0.0.1:$APP_PORT" \
        --workers "$workers" --control "$W/baton-$tag-app.sock" --log-level warn 2>>"$W/baton.log" & PIDS+=($!)
    BATON_APP_PID=$!
    "$bin" proxy --mode "$1" --listen "127.0.0.1:$P_BULK" --backend "bulk=127.0.0.1:$BULK_PORT" \
        --workers "$workers" --control "$W/baton-$tag-bulk.sock" --log-level warn 2>>"$W/baton.log" & PIDS+=($!)
    wait_port "$P_APP" && wait_port "$P_BULK"
    if [ "$workers" -gt 1 ]; then
        for _ in $(seq 50); do
            [ "$(pgrep -P "$BATON_APP_PID" | wc -l)" -ge "$workers" ] && break; sleep 0.1
        done
        BATON_APP_PID=$(pgrep -P "$BATON_APP_PID" | paste -sd,)
    fi
}
start_haproxy() { # MODE [NBTHREAD]
    local nbthread=${2:-1}
    P_APP=$(free_port); P_BULK=$(free_port)
    haproxy_conf "$W/haproxy-$1-$nbthread.cfg" "$1" "$nbthread" $((IDLE + 500)) \
        "app:$P_APP:$APP_PORT" "bulk:$P_BULK:$BULK_PORT"
    haproxy -f "$W/haproxy-$1-$nbthread.cfg" 2>>"$W/haproxy.log" & PIDS+=($!)
    HAPROXY_PID=$!
    wait_port "$P_APP" && wait_port "$P_BULK"
}
STREAM_MOD=""
for d in /usr/lib/nginx/modules /usr/share/nginx/modules; do
    [ -f "$d/ngx_stream_module.so" ] && STREAM_MOD="$d/ngx_stream_module.so" && break
done
start_nginx_stream() {
    P_APP=$(free_port); P_BULK=$(free_port)
    mkdir -p "$W/nginx-stream"
    cat >"$W/nginx-stream/nginx.conf" <<NGX
load_module $STREAM_MOD;
worker_processes 1; daemon off; pid $W/nginx-stream/pid; error_log $W/nginx-stream/error.log;
events { worker_connections 20000; }
stream {
  server { listen 127.0.0.1:$P_APP; proxy_pass 127.0.0.1:$APP_PORT; }
  server { listen 127.0.0.1:$P_BULK; proxy_pass 127.0.0.1:$BULK_PORT; } }
NGX
    nginx -c "$W/nginx-stream/nginx.conf" -p "$W/nginx-stream" 2>/dev/null & PIDS+=($!)
    NGINX_STREAM_PID=$!
    wait_port "$P_APP" && wait_port "$P_BULK"
}

# wrk -> "rps p50_ms p99_ms"
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.3f", v}'; }
measure_rps() { # PORT [PID] -> "rps p50 p99 cpu_us_per_request"
    local out rps p50 p99 t0 t1 cpu=-
    t0=$(cpu_ticks "${2:-}")
    out=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$1/" 2>&1)
    t1=$(cpu_ticks "${2:-}")
    rps=$(awk '/^Requests\/sec/ {printf "%d", $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out" | to_ms)
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out" | to_ms)
    errs=$(awk '/Non-2xx|Socket errors/' <<<"$out" | tr -s ' ' | paste -sd' ')
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    [ -n "${2:-}" ] && [ "${total:-0}" -gt 0 ] &&
        cpu=$(awk -v t=$((t1 - t0)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
    echo "${rps:-0} ${p50:-0} ${p99:-0} $cpu ${errs:+($errs)}"
}
measure_bulk() { # PORT N -> bytes/s of 10 MB GETs, one at a time (curl; wrk's parser
    # would be the bottleneck), the best of N so that a noisy neighbour counts less
    local best=0 i v
    for ((i = 0; i < $2; i++)); do
        v=$(curl -s --max-time 60 -o /dev/null -w '%{http_code} %{speed_download}' "http://127.0.0.1:$1/bulk")
        [ "${v%% *}" = 200 ] || { echo "bench/proxy: bulk GET answered ${v%% *}" >&2; v="0 0"; }
        v=$(cut -d' ' -f2 <<<"$v" | cut -d. -f1)
        [ "${v:-0}" -gt "$best" ] && best=$v
    done
    echo "$best"
}
# A bulk ratio's row and its own neighbour, a direct GET, in the order A B B A A B B A
# (through the row first in even rounds, direct first in odd ones), the best of 4 on
# each side: neither side always runs first, or right after the row's wrk run
bulk_pair() { # ROW ROUND -> appends to R_BULK[ROW] and R_BULKD[ROW]
    local port=(${BULKP[$1]} $BULK_PORT) best=(0 0) i side v
    for i in 0 1 2 3 4 5 6 7; do
        side=$(((($i + 1) / 2 + $2) % 2)) # 0 1 1 0 0 1 1 0, or its mirror
        v=$(measure_bulk "${port[$side]}" 1)
        [ "$v" -gt "${best[$side]}" ] && best[$side]=$v
    done
    R_BULK[$1]+="${best[0]} "; R_BULKD[$1]+="${best[1]} "
}
cpu_ticks() { # PID[,PID...] -> user + system ticks of them all
    local p sum=0
    for p in ${1//,/ }; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
    echo $sum
}
# System calls per request of PID(s) during one wrk run (perf on the raw_syscalls
# tracepoint; "-" where perf may not count them, e.g. without root)
measure_syscalls() { # PORT PID[,PID...]
    command -v perf >/dev/null || { echo -; return; }
    local out n total
    out=$(perf stat -x, -e raw_syscalls:sys_enter -p "$2" -- \
        wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$1/" 2>&1 >"$W/wrk-sys.out")
    n=$(awk -F, '/raw_syscalls/ {print $1}' <<<"$out")
    total=$(awk '/requests in/ {print $1}' "$W/wrk-sys.out")
    [[ "${n:-}" =~ ^[0-9]+$ ]] && [ "${total:-0}" -gt 0 ] &&
        awk -v n="$n" -v t="$total" 'BEGIN {printf "%.2f", n / t}' || echo -
}
# RSS growth of PID per 10k idle client connections to PORT (tcp: each also holds a
# backend connection; http: idle clients hold none)
measure_rss10k() { # PID PORT
    local before after
    before=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status")
    python3 - "$2" "$W/hold.ready" "$IDLE" <<'PY' &
import socket, sys, time
socks = []
for _ in range(int(sys.argv[3])):
    try:
        socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
    except OSError:
        break
open(sys.argv[2], "w").write(str(len(socks)))
time.sleep(6)
PY
    local holder=$!
    for _ in $(seq 200); do [ -s "$W/hold.ready" ] && break; sleep 0.1; done
    sleep 1
    after=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status")
    local n; n=$(cat "$W/hold.ready" 2>/dev/null || echo 0)
    kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; rm -f "$W/hold.ready"
    [ "${n:-0}" -gt 0 ] && echo "$(( (after - before) * 10000 / n / 1024 )) MB (from $n)" || echo "n/a"
    sleep 1
}

declare -A APP BULKP PID RPS P50 P99 BULK RSS CPU SPREAD P99SPREAD SYSC
started() { APP[$1]=$P_APP; BULKP[$1]=$P_BULK; PID[$1]=${2:-}; NAMES+=("$1"); }
median() { tr ' ' '\n' | grep -v '^-*$' | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "-"}'; }
spread() { tr ' ' '\n' | grep -v '^-*$' | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {if (NR) print lo "-" hi; else print "-"}'; }

NAMES=()
if [ -n "$CPU_LIMIT" ]; then # the one-process rows alone, each capped
    for m in tcp http; do
        start_baton $m; started baton-$m "$BATON_APP_PID"; capped baton-$m "$BATON_APP_PID"
        start_haproxy $m; started haproxy-$m "$HAPROXY_PID"; capped haproxy-$m "$HAPROXY_PID"
    done
    UNITS=("baton-tcp haproxy-tcp" "baton-http haproxy-http")
else
    P_APP=$APP_PORT P_BULK=$BULK_PORT started direct
    start_baton tcp;  started baton-tcp "$BATON_APP_PID"
    start_baton http; started baton-http "$BATON_APP_PID"
    start_baton tcp "$BATON" 2;  started baton-tcp-w2 "$BATON_APP_PID"
    start_baton http "$BATON" 2; started baton-http-w2 "$BATON_APP_PID"
    [ -n "$BASE" ] && { start_baton http "$BASE"; started baton-http-base "$BATON_APP_PID"; }
    start_haproxy tcp;  started haproxy-tcp "$HAPROXY_PID"
    start_haproxy http; started haproxy-http "$HAPROXY_PID"
    start_haproxy tcp 2;  started haproxy-tcp-nt2 "$HAPROXY_PID"
    start_haproxy http 2; started haproxy-http-nt2 "$HAPROXY_PID"
    if [ -n "$STREAM_MOD" ]; then
        start_nginx_stream
        for _ in $(seq 50); do NGINX_WORKER=$(pgrep -P "$NGINX_STREAM_PID" | head -1); [ -n "$NGINX_WORKER" ] && break; sleep 0.1; done
        started nginx-stream "$NGINX_WORKER"
    fi
fi

echo "bench/proxy: wrk -t1 -c$CONNS -d${DUR}s to httpapp, $ROUNDS interleaved rounds (median, spread min-max);"
[ -n "$CPU_LIMIT" ] && echo "each proxy capped at $CPU_LIMIT CPU (cgroup quota per 10 ms, $CAP_ROOT): the proxy limits requests/s, not wrk or the app"
[ -z "$CPU_LIMIT" ] && echo "bulk = a 10 MB GET from nginx (curl, best of 2 in each round; a ratio's two sides best of 4 in the order A B B A A B B A); -w2 = baton --workers 2, -nt2 = HAProxy nbthread 2"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (a busy machine blurs requests/s; CPU us/request is steadier)"
declare -A R_RPS R_P50 R_P99 R_CPU R_BULK R_BULKD
# The rows compared in a ratio run back to back, so that each per-round ratio weighs
# two runs seconds apart (a busy neighbour's load changes over half a minute): each
# round starts one unit further, and inside a unit one row further, so that neither
# side of a ratio always runs first.
if [ -z "$CPU_LIMIT" ]; then
    UNITS=("baton-tcp haproxy-tcp" "baton-http haproxy-http${BASE:+ baton-http-base}"
        "baton-tcp-w2 haproxy-tcp-nt2" "baton-http-w2 haproxy-http-nt2" direct)
    [ -n "$STREAM_MOD" ] && UNITS+=(nginx-stream)
fi
round_order() { # ROUND -> the rows in the order this round runs them
    local r=$1 nu=${#UNITS[@]} u j rows
    for ((u = 0; u < nu; u++)); do
        read -r -a rows <<<"${UNITS[$(((u + r) % nu))]}"
        for ((j = 0; j < ${#rows[@]}; j++)); do echo "${rows[$(((j + r) % ${#rows[@]}))]}"; done
    done
}
for ((r = 0; r < ROUNDS; r++)); do
    for k in $(round_order "$r"); do
        read -r rps p50 p99 cpu errs <<<"$(measure_rps "${APP[$k]}" "${PID[$k]}")"
        R_RPS[$k]+="$rps "; R_P50[$k]+="$p50 "; R_P99[$k]+="$p99 "; R_CPU[$k]+="$cpu "
        [ -z "$CPU_LIMIT" ] && case $k in # capped: requests only
        baton-tcp | baton-http | haproxy-tcp | haproxy-http) bulk_pair "$k" "$r" ;;
        *) R_BULK[$k]+="$(measure_bulk "${BULKP[$k]}" 2) " ;;
        esac
        [ -n "${errs:-}" ] && echo "  note: $k wrk reported $errs"
    done
done
for k in "${NAMES[@]}"; do
    RPS[$k]=$(median <<<"${R_RPS[$k]}"); P50[$k]=$(median <<<"${R_P50[$k]}")
    P99[$k]=$(median <<<"${R_P99[$k]}"); CPU[$k]=$(median <<<"${R_CPU[$k]}")
    SPREAD[$k]=$(spread <<<"${R_RPS[$k]}"); P99SPREAD[$k]=$(spread <<<"${R_P99[$k]}")
    BULK[$k]=$(median <<<"${R_BULK[$k]:-}")
    [ -n "$CPU_LIMIT" ] && continue # the capped run: requests/s, p99 and CPU alone
    [ "$k" != direct ] && SYSC[$k]=$(measure_syscalls "${APP[$k]}" "${PID[$k]}")
    # RSS of one process per 10k idle clients: the 1-worker / 1-thread rows
    case $k in direct | *-w2 | *-nt2) ;; *) RSS[$k]=$(measure_rss10k "${PID[$k]}" "${APP[$k]}") ;; esac
done

printf '\n%-17s %10s %13s %7s %8s %13s %8s %9s %11s %17s\n' "proxy" "requests/s" "spread" "p50 ms" "p99 ms" "p99 spread" "CPU us/" "syscalls/" "bulk" "RSS per"
printf '%-17s %10s %13s %7s %8s %13s %8s %9s %11s %17s\n' "" "" "" "" "" "" "request" "request" "bytes/s" "10k idle"
for k in direct baton-tcp baton-http baton-tcp-w2 baton-http-w2 baton-http-base haproxy-tcp haproxy-http haproxy-tcp-nt2 haproxy-http-nt2 nginx-stream; do
    if [ "$k" = nginx-stream ] && [ -z "$STREAM_MOD" ] && [ -z "$CPU_LIMIT" ]; then
        printf '%-17s %10s\n' "$k" "not available (no ngx_stream_module.so; Debian: libnginx-mod-stream)"; continue
    fi
    [ -n "${RPS[$k]:-}" ] || continue
    printf '%-17s %10s %13s %7s %8s %13s %8s %9s %11s %17s\n' "$k" "${RPS[$k]}" "${SPREAD[$k]}" "${P50[$k]}" "${P99[$k]}" "${P99SPREAD[$k]}" "${CPU[$k]:--}" "${SYSC[$k]:--}" "${BULK[$k]}" "${RSS[$k]:--}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# The ratio in each round (both rows measured in the same round): median and spread
round_ratios() { # A B FIELD(R_RPS|R_P99)
    local -n field=$3
    paste -d' ' <(tr ' ' '\n' <<<"${field[$1]}" | grep .) <(tr ' ' '\n' <<<"${field[$2]}" | grep .) |
        awk '$2 > 0 {printf "%.2f ", $1 / $2}'
}
verdict() { # VALUE OP GOAL
    awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN { if (v == "n/a" || v == "") print "?"; else if ((op == ">=" && v + 0 >= g) || (op == "<=" && v + 0 <= g)) print "met"; else print "NOT met" }'
}
compare() { # A B: requests/s and p99 of A against B, goal 1.10x and 1.00x
    local rr pr rm pm
    rr=$(round_ratios "$1" "$2" R_RPS); pr=$(round_ratios "$1" "$2" R_P99)
    rm=$(median <<<"$rr"); pm=$(median <<<"$pr")
    printf '  %-14s / %-16s requests/s %sx (rounds %s; goal >= 1.10: %s)   p99 %sx (rounds %s; goal <= 1.00: %s)   CPU/request %sx\n' \
        "$1" "$2" "$rm" "$(spread <<<"$rr")" "$(verdict "$rm" '>=' 1.10)" "$pm" "$(spread <<<"$pr")" \
        "$(verdict "$pm" '<=' 1.00)" "$(ratio "${CPU[$1]}" "${CPU[$2]}")"
}
echo
echo "ratios, median of the per-round ratios (each round measures both rows) with their spread:"
compare baton-tcp haproxy-tcp
compare baton-http haproxy-http
[ -n "$CPU_LIMIT" ] && exit 0
compare baton-tcp-w2 haproxy-tcp-nt2
compare baton-http-w2 haproxy-http-nt2
[ -n "$BASE" ] && echo "  baton-http / baton-http-base (cost of the change) requests/s $(ratio "${RPS[baton-http]}" "${RPS[baton-http-base]}")x   CPU/request $(ratio "${CPU[baton-http]}" "${CPU[baton-http-base]}")x"
[ -n "$STREAM_MOD" ] && echo "  baton-tcp  / nginx-stream  requests/s $(ratio "${RPS[baton-tcp]}" "${RPS[nginx-stream]}")x   p99 $(ratio "${P99[baton-tcp]}" "${P99[nginx-stream]}")x"
echo "  workers: baton-tcp-w2 / baton-tcp requests/s $(ratio "${RPS[baton-tcp-w2]}" "${RPS[baton-tcp]}")x, baton-http-w2 / baton-http $(ratio "${RPS[baton-http-w2]}" "${RPS[baton-http]}")x (wrk, the app and the proxy share $(nproc) cores)"
for k in baton-tcp baton-http haproxy-tcp haproxy-http; do
    br=$(paste -d' ' <(tr ' ' '\n' <<<"${R_BULK[$k]}" | grep .) <(tr ' ' '\n' <<<"${R_BULKD[$k]}" | grep .) |
        awk '$2 > 0 {printf "%.2f ", $1 / $2}'); b=$(median <<<"$br")
    goal=""; case $k in baton-*) goal="; goal >= 0.90: $(verdict "$b" '>=' 0.90)" ;; esac
    echo "  bulk: $k / direct (best of 4, A B B A A B B A) ${b}x (rounds $(spread <<<"$br")$goal)"
done
