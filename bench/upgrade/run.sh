#!/usr/bin/env bash
# Upgrade patterns compared in one run: baton (handoff), nginx binary upgrade
# (USR2/WINCH/QUIT), nginx reload (HUP) and a plain kill-and-restart, each under a
# keep-alive and a close load from `baton load`. Prints failed requests and the switch
# time (upgrade command -> first answer by the new version), and the masters' RSS.
# Then the master's own timeline (phases.sh): each phase's median and spread over
# PHASE_UPGRADES upgrades under load, interleaved with starts of the app alone; and the
# master's memory (memory.sh) across CHURN_UPGRADES upgrades and CHURN_REEXECS reexecs
# beside nginx's master.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
bench_build "${1:-}"
N=${UPGRADES:-5}
tmp=$(bench_tmp upgrade)
pids=()
cleanup() {
    [ -f "$tmp/nginx.pid" ] && kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null
    [ -f "$tmp/nginx.pid.oldbin" ] && kill -QUIT "$(cat "$tmp/nginx.pid.oldbin")" 2>/dev/null
    "$BATON" stop --control "$tmp/baton.sock" >/dev/null 2>&1
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    sleep 0.2
    rm -rf "$tmp"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# --- the four upgrade methods: start VERSION / upgrade VERSION / stop / master pid ---
baton_start() {
    "$BATON" run --name bench --control "$tmp/baton.sock" --listen "127.0.0.1:$port" \
        --drain-timeout 5 -- "$APP" --version "$1" 2>"$tmp/baton.log" &
    pids+=($!)
    wait_port "$port"
}
baton_upgrade() {
    "$BATON" upgrade --json --control "$tmp/baton.sock" -- "$APP" --version "$1" >/dev/null
}
baton_stop() { "$BATON" stop --control "$tmp/baton.sock" >/dev/null 2>&1; sleep 0.3; }
baton_master() { pgrep -f "baton run --name bench" | head -1; }

nginx_start() { nginx_up "$tmp" "$port" "$1"; }
nginx_reload() {
    echo "set \$ver $1;" >"$tmp/version.conf"
    kill -HUP "$(cat "$tmp/nginx.pid")"
}
nginx_binary() { nginx_binary_upgrade "$tmp" "$1"; }
nginx_stop() {
    kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null
    for _ in $(seq 100); do [ -f "$tmp/nginx.pid" ] || break; sleep 0.05; done
    sleep 0.2
}
nginx_master() { cat "$tmp/nginx.pid"; }

restart_start() {
    PORT=$port "$APP" --version "$1" 2>>"$tmp/app.log" &
    echo $! >"$tmp/app.pid"
    pids+=($!)
    wait_port "$port"
}
restart_upgrade() {
    local old
    old=$(cat "$tmp/app.pid")
    kill -TERM "$old"
    wait "$old" 2>/dev/null
    PORT=$port "$APP" --version "$1" 2>>"$tmp/app.log" &
    echo $! >"$tmp/app.pid"
    pids+=($!)
}
restart_stop() { kill -TERM "$(cat "$tmp/app.pid")" 2>/dev/null; sleep 0.3; }
restart_master() { cat "$tmp/app.pid"; }

# run METHOD UPGRADE_FN MODE: N upgrades, one per second, under one load run.
declare -A rss pss
run() {
    local method=$1 upgrade=$2 mode=$3
    port=$(free_port)
    "${method}_start" v0 || { printf '%-16s %-10s could not start\n' "$method/$upgrade" "$mode"; return; }
    local flag=""
    [ "$mode" = close ] && flag=--close
    local dur=$((N + 2))
    "$BATON" load "http://127.0.0.1:$port/" --duration "$dur" --connections 8 $flag --json \
        >"$tmp/load.json" 2>/dev/null &
    local load=$!
    local t0s=()
    sleep 1
    local mpid
    mpid=$("${method}_master")
    rss[$method]=$(ps -o rss= -p "$mpid" 2>/dev/null | tr -d ' ')
    pss[$method]=$(awk '/^Pss:/ {print $2}' "/proc/$mpid/smaps_rollup" 2>/dev/null)
    for i in $(seq 1 "$N"); do
        local slot=$(( $(now_ms) + 1000 ))
        t0s+=("$(now_ms)")
        "$upgrade" "v$i"
        local left=$(( slot - $(now_ms) ))
        [ $left -gt 0 ] && sleep "$(printf '0.%03d' "$left")"
    done
    wait "$load"
    "${method}_stop"
    local start failed requests switches=()
    start=$(jq .start_unix_ms "$tmp/load.json")
    failed=$(jq .failed "$tmp/load.json")
    requests=$(jq .requests "$tmp/load.json")
    for i in $(seq 1 "$N"); do
        local first
        first=$(jq ".versions.v$i.first_sent_ms // empty" "$tmp/load.json")
        [ -n "$first" ] && switches+=($(( start + first - ${t0s[$((i - 1))]} )))
    done
    local median="-"
    if [ ${#switches[@]} -gt 0 ]; then
        median=$(printf '%s\n' "${switches[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    fi
    printf '%-24s %-10s %9s %8s %12s\n' "$method/$upgrade" "$mode" "$requests" "$failed" "$median"
    results+=("$method/$upgrade $mode $failed $median")
}

results=()
echo "$N upgrades per row, one per second, 8 connections; switch = command -> first answer by the new version"
printf '%-24s %-10s %9s %8s %12s\n' "method" "load" "requests" "failed" "switch ms"
for mode in keepalive close; do
    run baton baton_upgrade "$mode"
    run nginx nginx_binary "$mode"
    run nginx nginx_reload "$mode"
    run restart restart_upgrade "$mode"
done
echo
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf 'master memory: RSS baton %s kB, nginx %s kB (%sx); own pages (Pss) baton %s kB, nginx %s kB (%sx)\n' \
    "${rss[baton]:-?}" "${rss[nginx]:-?}" "$(ratio "${rss[baton]}" "${rss[nginx]}")" \
    "${pss[baton]:-?}" "${pss[nginx]:-?}" "$(ratio "${pss[baton]}" "${pss[nginx]}")"

echo
"$here/phases.sh" "$build"
echo
"$here/memory.sh" "$build"
