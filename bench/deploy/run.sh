#!/usr/bin/env bash
# Rolling deploys of a fleet in network namespaces (4 and 16 hosts, each with sshd and
# the example app restarted by its install script, HAProxy in front, keep-alive load
# all along), three ways in interleaved rounds:
#   baton deploy    remove-upgrade-add, max-parallel 1
#   script          what an operator writes by hand: the same HAProxy runtime commands
#                   (socat) and ssh calls (with a ControlMaster): drain, wait for 0
#                   connections, install, wait for health, ready, wait for UP
#   reload          HAProxy's own way, in its configuration file: the host's server
#                   `disabled`, reload (SIGUSR2), install, enabled again, reload
#                   (4 hosts only: the 16-host run would not fit bench/run.sh's 10 min)
#   restart         ssh install on each host, nothing else
# Prints failed requests, total time, and per host the time beyond the app's own
# restart (the install script's own duration), with baton's as a ratio to the script's.
# Needs root (namespaces); says so and exits 0 otherwise.
set -u
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "bench/deploy: skipped (network namespaces need root)"
    exit 0
fi
command -v socat >/dev/null || { echo "bench/deploy: skipped (no socat)"; exit 0; }
export BATON=$build/baton BATON_REL=$build/baton EXAMPLES=$build/examples
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../tests/lib/common.sh"
. "$here/../../tests/lib/fleet.sh"
ROUNDS=${BENCH_ROUNDS:-2}       # rounds with 4 hosts; with 16 the spread is over hosts
ROUNDS_BIG=${BENCH_ROUNDS_BIG:-1}
SIZES=${BENCH_SIZES:-4 16}
RUN=$(mktemp -d /tmp/btb.XXXXXX)
on_exit "pkill -KILL -f 'ControlPath=$RUN'; rm -rf '$RUN'"
release=1

SSH=()
ssh_opts() {
    SSH=(ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$FLEET_DIR/known_hosts"
        -o "ControlPath=$RUN/%C" -o ControlMaster=auto -o ControlPersist=60 -o LogLevel=ERROR
        -i "$FLEET_DIR/id" -l root)
}

deploy_file() {
    local n
    {
        printf '[service]\nname = bench\nstate = %s/deploy.state\n' "$T_DIR"
        printf '[ssh]\nuser = root\nidentity = %s\nknown-hosts = %s\n' "$FLEET_DIR/id" "$FLEET_DIR/known_hosts"
        for n in "${FLEET_HOSTS[@]}"; do printf '[host %s]\nssh = %s\n' "$n" "$(fleet_addr "$n")"; done
        printf '[balancer]\ntype = haproxy\nbackend = app\nsocket = unix:%s\n' "$FLEET_DIR/lb/A.sock"
        printf '[app]\nstrategy = remove-upgrade-add\nport = 8080\nupgrade = %s {release}\n' "$FLEET_DIR/install"
        printf '[rollout]\nhealth = http:/health\nhealth-interval = 100ms\nhealth-passes = 1\n'
        printf 'drain-timeout = 30s\n[lease]\npath = %s/deploy.lock\n' "$T_DIR"
    } >"$T_DIR/deploy.ini"
}

# Each method prints "total_ms per_host_overhead_ms..." on fd 3.
run_baton() {
    local t0 t1
    t0=$(date +%s%3N)
    XDG_RUNTIME_DIR=$RUN "$BATON" deploy "$T_DIR/deploy.ini" "v$1" --from "v$(($1 - 1))" --json \
        >"$T_DIR/events.jsonl" 2>"$T_DIR/deploy.err" || { tail -3 "$T_DIR/deploy.err" >&2; return 1; }
    t1=$(date +%s%3N)
    # per host: from its first step to done, less its install command's own time
    jq -rs 'map(select(.event == "command" and (.command | test("install"))))
        | .[] | .stdout | capture("install_ms=(?<ms>[0-9]+)").ms' "$T_DIR/events.jsonl" >>"$T_DIR/install-baton"
    local per
    per=$(jq -rs '
        (map(select(.event == "host")) | group_by(.host) | map({key: .[0].host,
          value: ((map(select(.state == "done")) | .[0].t_unix_ms) - .[0].t_unix_ms)}) | from_entries) as $wall
        | (map(select(.event == "command" and (.command | test("install")))) | map({key: .host,
          value: (.stdout | capture("install_ms=(?<ms>[0-9]+)").ms | tonumber)}) | from_entries) as $cmd
        | [$wall | keys[] | $wall[.] - $cmd[.]] | map(tostring) | join(" ")' "$T_DIR/events.jsonl")
    echo "$((t1 - t0)) $per" >&3
}

hap() { echo "$1" | socat - "UNIX-CONNECT:$FLEET_DIR/lb/A.sock"; }
# upto SECONDS CMD...: polls CMD every 100 ms (as an operator's script would), at most
# SECONDS; a round that times out is reported and the bench goes on.
upto() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && { echo "bench/deploy: gave up waiting for: $*" >&2; return 1; }
        sleep 0.1
    done
}
scur_zero() { [ "$(hap_field "$1" scur)" = 0 ]; }
status_is() { hap_field "$1" status | grep "^$2" >/dev/null; }
hap_field() { # hap_field SERVER COLUMN: one column of show stat
    hap "show stat app 4 -1" | awk -F, -v s="$1" -v c="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c || $i == "# " c) k = i} $2 == s {print $k}'
}
# install_on HOST RELEASE METHOD: the install script of vRELEASE on HOST over ssh; prints
# its own duration in ms (also kept in $T_DIR/install-METHOD).
install_on() {
    local inst
    inst=$("${SSH[@]}" "$(fleet_addr "$1")" "$FLEET_DIR/install v$2" | sed -n 's/^install_ms=//p')
    echo "$inst" >>"$T_DIR/install-$3"
    echo "$inst"
}
# each_host FN RELEASE: FN HOST RELEASE on every host in order, FN printing the host's own
# install time (ms, or - for no figure of the host); prints to fd 3 the total time and per
# host its time beyond its own install (ms).
each_host() {
    local t0 n h0 inst per=()
    t0=$(date +%s%3N)
    for n in "${FLEET_HOSTS[@]}"; do
        h0=$(date +%s%3N)
        inst=$("$1" "$n" "$2")
        if [ "$inst" = - ]; then per+=(-); else per+=($(($(date +%s%3N) - h0 - inst))); fi
    done
    echo "$(($(date +%s%3N) - t0)) ${per[*]}" >&3
}
script_host() {
    hap "set server app/$1 state drain" >/dev/null
    upto 30 scur_zero "$1"
    install_on "$1" "$2" script
    upto 30 curl -sf -o /dev/null "http://$(fleet_addr "$1"):8080/health"
    hap "set server app/$1 state ready" >/dev/null
    upto 30 status_is "$1" UP
}
run_script() { each_host script_host "$1"; }
# HAProxy reloads: the configuration with server $1 disabled (or none), SIGUSR2 to the
# master, then wait until the new worker shows the server as wanted.
hap_reload() {
    local cfg=$FLEET_DIR/lb/A.cfg want=$2
    sed -i 's/ check disabled$/ check/' "$cfg"
    [ -n "$1" ] && sed -i "s|^\(    server $1 .* check\)\$|\1 disabled|" "$cfg"
    kill -USR2 "$FLEET_HAP_PID_A"
    upto 30 status_is "$3" "$want"
}
reload_host() {
    hap_reload "$1" MAINT "$1"
    install_on "$1" "$2" reload
    hap_reload "" UP "$1"
}
run_reload() { each_host reload_host "$1"; }
restart_host() {
    install_on "$1" "$2" restart >/dev/null
    echo -
}
run_restart() { each_host restart_host "$1"; }

# measure METHOD: one deploy of the next release under keep-alive load; appends
# "method failed total_ms overheads..." to results.
measure() {
    local m=$1 out
    release=$((release + 1))
    fleet_load_start bload --connections 8
    wait_for 10 test -s "$T_DIR/bload.jsonl"
    out=$( { "run_$m" "$release" 3>&1 1>&2; } 2>>"$T_DIR/bench.err")
    local got
    got=$(fleet_load_stop bload)
    echo "$m ${got#* } $out" >>"$T_DIR/results"
}

# median and spread (min..max) of numbers on stdin
stats() { sort -n | awk '{v[NR] = $1} END {if (!NR) {print "- -..-"; exit} printf "%d %d..%d\n", v[int((NR + 1) / 2)], v[1], v[NR]}'; }

ms_to_s() { awk '{printf "%.1f", $1 / 1000}'; }
spread_s() { awk -F'[.][.]' '{printf "%.1f..%.1f", $1 / 1000, $2 / 1000}'; }

report() {
    local size=$1 rounds=$2 m
    printf '\n%d hosts, remove-upgrade-add, one at a time, 8 keep-alive connections, %d round%s\n' \
        "$size" "$rounds" "$([ "$rounds" -eq 1 ] || echo s)"
    printf '%-10s %10s %20s %22s %28s\n' method "failed req" "total s (spread)" \
        "app restart ms/host" "beyond it, ms/host (spread)"
    for m in $METHODS; do
        local failed total over app
        failed=$(awk -v m=$m '$1 == m {s += $2} END {print s + 0}' "$T_DIR/results")
        total=$(awk -v m=$m '$1 == m {print $3}' "$T_DIR/results" | stats)
        over=$(awk -v m=$m '$1 == m {for (i = 4; i <= NF; i++) if ($i != "-") print $i}' "$T_DIR/results" | stats)
        app=$(stats <"$T_DIR/install-$m")
        printf '%-10s %10s %8s (%s) %22s %15s (%s)\n' "$m" "$failed" "$(echo "${total% *}" | ms_to_s)" \
            "$(echo "${total#* }" | spread_s)" "${app% *}" "${over% *}" "${over#* }"
    done
    local b s
    b=$(awk '$1 == "baton" {for (i = 4; i <= NF; i++) print $i}' "$T_DIR/results" | stats)
    s=$(awk '$1 == "script" {for (i = 4; i <= NF; i++) print $i}' "$T_DIR/results" | stats)
    awk -v b="${b% *}" -v s="${s% *}" 'BEGIN {if (s > 0) printf "baton / script, time per host beyond the app restart: %.2fx (medians)\n", b / s}'
}

for size in $SIZES; do
    FLEET_DIR=$T_DIR/fleet-$size
    fleet_up "$size"
    ssh_opts
    fleet_install_script
    for n in "${FLEET_HOSTS[@]}"; do
        fleet_exec "$n" env FLEET_DIR="$FLEET_DIR" FLEET_HOST="$n" FLEET_ADDR="$(fleet_addr "$n")" \
            "$FLEET_DIR/install" v1 >/dev/null || fail "v1 on $n"
    done
    fleet_haproxy A
    deploy_file
    : >"$T_DIR/results"
    rm -f "$T_DIR"/install-*
    rounds=$ROUNDS METHODS="baton script reload restart"
    [ "$size" -gt 4 ] && rounds=$ROUNDS_BIG METHODS="baton script restart"
    for r in $(seq 1 "$rounds"); do
        for m in $METHODS; do measure "$m"; done
    done
    report "$size" "$rounds"
    _fleet_down
    FLEET_NS=()
done
