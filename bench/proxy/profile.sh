#!/usr/bin/env bash
# Where a proxy's time goes per request, baton beside HAProxy in the same run (not a
# test, not part of `make bench`): for each proxy in MODE (http or tcp), ROUNDS
# interleaved wrk runs under `perf stat` (task-clock, context switches, system calls
# by kind) and one `perf record` of each, whose top symbols are printed. Needs perf
# and the right to trace the processes (root, or perf_event_paranoid <= 1).
# Usage: bench/proxy/profile.sh [BUILD_DIR] [MODE]   (build/rel, http)
set -u
BUILD=$(cd "${1:-build/rel}" && pwd)
MODE=${2:-http}
DUR=${BENCH_SECONDS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-50}
W=$(mktemp -d /tmp/baton-profile-proxy.XXXXXX)
PIDS=()
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"
cleanup() {
    stop_pids "${PIDS[@]}"
    rm -rf "$W"
}
trap cleanup EXIT
for tool in wrk haproxy perf; do command -v $tool >/dev/null || { echo "profile: $tool missing"; exit 1; }; done

APP_PORT=$(free_port)
PORT=$APP_PORT "$BUILD/examples/httpapp" --version bench 2>/dev/null & PIDS+=($!)
B_PORT=$(free_port)
"$BUILD/baton" proxy --mode "$MODE" --listen "127.0.0.1:$B_PORT" --backend "app=127.0.0.1:$APP_PORT" \
    --control "$W/baton.sock" --log-level warn 2>>"$W/baton.log" & PIDS+=($!)
B_PID=$!
H_PORT=$(free_port)
haproxy_conf "$W/haproxy.cfg" "$MODE" 1 "" "app:$H_PORT:$APP_PORT"
haproxy -f "$W/haproxy.cfg" 2>>"$W/haproxy.log" & PIDS+=($!)
H_PID=$!
wait_port "$APP_PORT" && wait_port "$B_PORT" && wait_port "$H_PORT" || { echo "profile: a server did not start"; exit 1; }

EVENTS=task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_clock_gettime,syscalls:sys_enter_accept4,syscalls:sys_enter_close
# one wrk run under perf stat -> per-request figures "event=value ..."
stat_run() { # NAME PORT PID
    perf stat -x, -e "$EVENTS" -p "$3" -o "$W/stat.$1" -- \
        wrk -t1 -c"$CONNS" -d"${DUR}s" "http://127.0.0.1:$2/" >"$W/wrk.$1" 2>&1
    local n; n=$(awk '/requests in/ {print $1}' "$W/wrk.$1")
    awk -F, -v n="${n:-0}" -v rps="$(awk '/^Requests\/sec/ {printf "%d", $2}' "$W/wrk.$1")" '
        BEGIN {printf "rps=%s", rps}
        /^[0-9.]+,/ && n > 0 {e=$3; sub(/.*:sys_enter_?/, "", e); if (e == "") e="syscalls";
            if ($3 == "task-clock") printf " cpu_us=%.1f", $1 * 1000 / n;
            else if ($3 == "context-switches") printf " cs=%.3f", $1 / n;
            else printf " %s=%.3f", e, $1 / n}
        END {print ""}' "$W/stat.$1"
}
echo "profile: $MODE mode, wrk -t1 -c$CONNS -d${DUR}s, $ROUNDS interleaved rounds; figures per request"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2)); then order="haproxy baton"; else order="baton haproxy"; fi
    for k in $order; do
        if [ "$k" = baton ]; then echo "  round $r baton:   $(stat_run baton "$B_PORT" "$B_PID")"
        else echo "  round $r haproxy: $(stat_run haproxy "$H_PORT" "$H_PID")"; fi
    done
done
for k in baton haproxy; do
    if [ "$k" = baton ]; then port=$B_PORT pid=$B_PID; else port=$H_PORT pid=$H_PID; fi
    perf record -q -g -p "$pid" -o "$W/perf.$k" -- wrk -t1 -c"$CONNS" -d"${DUR}s" "http://127.0.0.1:$port/" >/dev/null 2>&1
    echo
    echo "== $k: share of samples by object, then the top symbols (self) =="
    perf report -i "$W/perf.$k" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -6
    perf report -i "$W/perf.$k" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -"${TOP:-30}"
done
