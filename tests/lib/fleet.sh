# A fleet of hosts on one machine for the deploy tests, benchmarks and `make demo-fleet`
# (sourced after common.sh; needs root). Each host is a network namespace on a bridge
# of its own, with its own address and a real sshd that listens on that address only.
# A load-balancer namespace "lb" runs HAProxy in front of them. Every namespace, veth,
# bridge and process made here is removed on exit, even after a failure; names carry
# a per-run id and the /24 is picked free under a lock, so runs never collide; a fleet
# whose run was killed outright (SIGKILL) is removed by the next fleet_up.
#
#   fleet_up 4                  # bridge, lb + h1..h4, sshd in each, keys, known_hosts
#   fleet_exec h2 CMD...        # CMD inside h2's namespace
#   fleet_haproxy A             # HAProxy "A" in lb: frontend :80, socket $FLEET_DIR/lb/A.sock
#   fleet_load_start NAME ARGS  # baton load through HAProxy until fleet_load_stop NAME
#   fleet_sshd_stop h3 / fleet_sshd_start h3

: "${T_DIR:?source tests/lib/common.sh first}"
: "${BATON_REL:=$BATON}"

FLEET_DIR=$T_DIR/fleet
FLEET_HOSTS=()
FLEET_NS=()
FLEET_ID=
FLEET_NET=
FLEET_BR=
FLEET_PORT=8080
FLEET_LOAD_CAP=${FLEET_LOAD_CAP:-240} # seconds: hard cap of any load loop

fleet_ns() { echo "btf$FLEET_ID-$1"; }
fleet_addr() { # fleet_addr lb|hN
    case $1 in
    lb) echo "$FLEET_NET.2" ;;
    h*) echo "$FLEET_NET.$((10 + ${1#h}))" ;;
    esac
}
fleet_exec() { local n=$1; shift; ip netns exec "$(fleet_ns "$n")" "$@"; }

# Removes the fleets of runs that died without their cleanup (SIGKILL): each fleet
# records its owner's pid in /tmp/baton-fleets/ID; called under the lock.
_fleet_sweep() {
    local f id pid ns p
    mkdir -p /tmp/baton-fleets
    for f in /tmp/baton-fleets/*; do
        [ -f "$f" ] || continue
        id=${f##*/} pid=$(cat "$f" 2>/dev/null)
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && continue
        for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^btf$id-"); do
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
            ip netns del "$ns" 2>/dev/null
        done
        ip link del "btf$id" 2>/dev/null
        rm -f "$f"
    done
}

# Picks an unused 10.x.y.0/24 and an id, and makes the bridge, under one lock.
_fleet_bridge() {
    exec 8>/tmp/baton-fleet.lock
    flock -w 60 8 || fail "cannot take /tmp/baton-fleet.lock"
    _fleet_sweep
    local tries=0 a b
    while :; do
        tries=$((tries + 1))
        [ $tries -gt 200 ] && { flock -u 8; fail "no free 10.x.y.0/24 for the fleet"; }
        FLEET_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5)
        a=$((100 + RANDOM % 100)) b=$((RANDOM % 256))
        ip -4 addr show | grep " 10\.$a\.$b\." >/dev/null && continue
        ip -4 route show | grep "^10\.$a\.$b\." >/dev/null && continue
        ip link show "btf$FLEET_ID" >/dev/null 2>&1 && continue
        break
    done
    FLEET_NET=10.$a.$b
    FLEET_BR=btf$FLEET_ID
    echo $$ >"/tmp/baton-fleets/$FLEET_ID"
    on_exit _fleet_down
    ip link add "$FLEET_BR" type bridge || { flock -u 8; fail "cannot make bridge $FLEET_BR"; }
    ip addr add "$FLEET_NET.1/24" dev "$FLEET_BR"
    ip link set "$FLEET_BR" up
    flock -u 8
    exec 8>&-
}

# A namespace on the bridge with the host's address.
_fleet_netns() {
    local n=$1 ns veth
    ns=$(fleet_ns "$n")
    veth=btf$FLEET_ID$n
    ip netns add "$ns" || fail "cannot make namespace $ns"
    FLEET_NS+=("$ns")
    ip link add "$veth" type veth peer name eth0 netns "$ns" || fail "cannot make veth $veth"
    ip link set "$veth" master "$FLEET_BR" up
    ip -n "$ns" addr add "$(fleet_addr "$n")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
}

_fleet_sshd_config() {
    local n=$1 d=$FLEET_DIR/$1
    mkdir -p "$d/run"
    ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key" -C "$n" || fail "ssh-keygen"
    cat >"$d/sshd_config" <<EOF
Port 22
ListenAddress $(fleet_addr "$n")
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $FLEET_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 64
MaxStartups 64
LogLevel ERROR
SetEnv XDG_RUNTIME_DIR=$d/run FLEET_HOST=$n FLEET_DIR=$FLEET_DIR FLEET_ADDR=$(fleet_addr "$n")
EOF
    printf '%s %s\n' "$(fleet_addr "$n")" "$(cut -d' ' -f1-2 "$d/ssh_host_ed25519_key.pub")" \
        >>"$FLEET_DIR/known_hosts"
}

fleet_sshd_start() {
    local n=$1
    mkdir -p /run/sshd
    # In a mount namespace of its own, with an empty home over /root: a host of the
    # fleet does not inherit this machine's dotfiles (a slow ~/.bashrc would be timed
    # as the deploy's own cost on every command).
    mkdir -p "$FLEET_DIR/home"
    ip netns exec "$(fleet_ns "$n")" unshare -m sh -c \
        'mount --bind "$1" /root && exec /usr/sbin/sshd -D -e -f "$2"' \
        sshd "$FLEET_DIR/home" "$FLEET_DIR/$n/sshd_config" >>"$T_DIR/sshd-$n.log" 2>&1 &
    track $!
    disown $! # killed with its namespace; no job message
    wait_for 10 fleet_exec "$n" bash -c "exec 3<>/dev/tcp/$(fleet_addr "$n")/22" ||
        fail "sshd of $n did not start"
}

# Stops every sshd process of host n: the listener and the sessions (so the deploy's
# multiplexed connection breaks too, as when a host's sshd dies).
fleet_sshd_stop() {
    local p
    for p in $(ip netns pids "$(fleet_ns "$1")"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sshd ] && kill -9 "$p" 2>/dev/null
    done
    wait_for 10 bash -c "! ip netns exec $(fleet_ns "$1") bash -c 'exec 3<>/dev/tcp/$(fleet_addr "$1")/22'"
}

# fleet_up N: the bridge, lb and h1..hN with sshd; a client key and known_hosts.
fleet_up() {
    local count=$1 i
    [ "$(id -u)" -eq 0 ] || fail "the fleet needs root (network namespaces)"
    mkdir -p "$FLEET_DIR"
    ssh-keygen -q -t ed25519 -N '' -f "$FLEET_DIR/id" -C deploy || fail "ssh-keygen"
    cp "$FLEET_DIR/id.pub" "$FLEET_DIR/authorized_keys"
    : >"$FLEET_DIR/known_hosts"
    _fleet_bridge
    FLEET_HOSTS=()
    for i in $(seq 1 "$count"); do FLEET_HOSTS+=("h$i"); done
    for n in lb "${FLEET_HOSTS[@]}"; do
        _fleet_netns "$n"
        _fleet_sshd_config "$n"
        fleet_sshd_start "$n"
    done
    _fleet_release_script
    log "fleet $FLEET_ID: $FLEET_NET.0/24, lb + ${FLEET_HOSTS[*]}"
}

# Kills what runs in the namespaces, then removes them, the veths and the bridge.
_fleet_down() {
    local ns p
    for ns in "${FLEET_NS[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    done
    pkill -KILL -f "ControlPath=$FLEET_DIR" 2>/dev/null
    for ns in "${FLEET_NS[@]}"; do
        ip netns del "$ns" 2>/dev/null
        ip link del "btf$FLEET_ID${ns##*-}" 2>/dev/null
    done
    [ -n "$FLEET_BR" ] && ip link del "$FLEET_BR" 2>/dev/null
    [ -n "$FLEET_ID" ] && rm -f "/tmp/baton-fleets/$FLEET_ID"
    return 0
}

# fleet_run_app hN VERSION: `baton run` with the example app on hN's address:8080.
fleet_run_app() {
    local n=$1 v=$2 d=$FLEET_DIR/$1
    ip netns exec "$(fleet_ns "$n")" env XDG_RUNTIME_DIR="$d/run" "$BATON_REL" run --name app \
        --listen "$(fleet_addr "$n"):$FLEET_PORT" --drain-timeout 10 \
        -- "$FLEET_DIR/release" "$v" >>"$T_DIR/run-$n.log" 2>&1 &
    track $!
    disown $!
    wait_for 20 curl -sf "http://$(fleet_addr "$n"):$FLEET_PORT/" || fail "app on $n did not start"
}

# The release launcher the deploy files name: a release name picks the app's behaviour
# (*-sick: /health answers 503; *-5xx: 5% of answers are 500; *-slowstart: READY=1 after
# 4 s, so that an in-place upgrade is still running when a scenario acts on it).
_fleet_release_script() {
    cat >"$FLEET_DIR/release" <<EOF
#!/bin/sh
v=\$1; shift
case \$v in
*-sick) set -- --health-status 503 "\$@" ;;
*-5xx) set -- --error-percent 5 "\$@" ;;
*-slowstart) set -- --ready-delay 4000 "\$@" ;;
esac
exec "$FLEET_DIR/httpapp" --version "\$v" "\$@"
EOF
    chmod +x "$FLEET_DIR/release"
    cp "$EXAMPLES/httpapp" "$FLEET_DIR/httpapp"
}

# fleet_install_script: $FLEET_DIR/install RELEASE, the remove-upgrade-add install a
# host runs: a real restart of its app (no baton run there): stops it (drain on SIGTERM,
# waits for its exit), starts RELEASE, waits until it answers, records it in the host's
# release and installs files, and prints its own duration (install_ms=N: the app's own
# restart, which no deploy tool can make shorter).
fleet_install_script() {
    cat >"$FLEET_DIR/install" <<'EOF'
#!/bin/sh
t0=$(date +%s%3N)
d=$FLEET_DIR/$FLEET_HOST
if [ -f "$d/app.pid" ]; then
    pid=$(cat "$d/app.pid")
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 1500 ] && { echo "old app did not stop" >&2; exit 1; }
        sleep 0.02
    done
fi
setsid "$FLEET_DIR/release" "$1" --listen "$FLEET_ADDR:8080" >>"$d/app.log" 2>&1 </dev/null &
echo $! >"$d/app.pid"
i=0
until curl -sf -o /dev/null "http://$FLEET_ADDR:8080/"; do
    i=$((i + 1)); [ $i -gt 1500 ] && { echo "$1 did not start" >&2; exit 1; }
    sleep 0.02
done
echo "$1" >"$d/release"
echo "$1" >>"$d/installs"
echo "install_ms=$(($(date +%s%3N) - t0))"
EOF
    chmod +x "$FLEET_DIR/install"
}

# fleet_haproxy NAME [PORT [STATS_PORT]]: HAProxy in lb with every host as a server of
# backend "app" (health-checked on /health), its admin socket at $FLEET_DIR/lb/NAME.sock
# and, with STATS_PORT, also on tcp lb:STATS_PORT.
fleet_haproxy() {
    local name=$1 port=${2:-80} cfg=$FLEET_DIR/lb/$1.cfg n
    mkdir -p "$FLEET_DIR/lb"
    {
        printf 'global\n    stats socket %s mode 600 level admin\n    maxconn 4000\n' \
            "$FLEET_DIR/lb/$name.sock"
        [ -n "${3:-}" ] && printf '    stats socket ipv4@%s:%s level admin\n' "$(fleet_addr lb)" "$3"
        printf 'defaults\n    mode http\n    retries 0\n    timeout connect 2s\n'
        # a check every 200 ms, but a slow answer fails only after 2 s: on a busy machine
        # the apps' /health took over 200 ms and HAProxy marked every server DOWN
        printf '    timeout client 30s\n    timeout server 30s\n    timeout check 2s\n'
        printf 'frontend fe\n    bind %s:%s\n    default_backend app\n' "$(fleet_addr lb)" "$port"
        printf 'backend app\n    balance roundrobin\n    option httpchk GET /health\n'
        printf '    default-server inter 200ms fall 2 rise 2\n'
        for n in "${FLEET_HOSTS[@]}"; do
            printf '    server %s %s:%s check\n' "$n" "$(fleet_addr "$n")" "$FLEET_PORT"
        done
    } >"$cfg"
    # a simple command (not a function): $! is HAProxy's master itself
    ip netns exec "$(fleet_ns lb)" haproxy -W -db -f "$cfg" >>"$T_DIR/haproxy-$name.log" 2>&1 &
    track $!
    disown $!
    eval "FLEET_HAP_PID_$name=$!" # the master: SIGUSR2 reloads the configuration
    wait_for 20 fleet_hap_all_up "$name" || fail "HAProxy $name: not every server came up"
}

# fleet_hap NAME CMD: one runtime API command to HAProxy NAME.
fleet_hap() {
    python3 - "$FLEET_DIR/lb/$1.sock" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\n").encode())
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
sys.stdout.write(out.decode())
PY
}

# The status column of every server of backend app, "name status" per line.
fleet_hap_status() {
    fleet_hap "$1" "show stat app 4 -1" | awk -F, '/^app,/ {print $2, $18}'
}
fleet_hap_all_up() { ! fleet_hap_status "$1" | grep -v ' UP$' >/dev/null; }

# fleet_load_start NAME [baton load ARGS]: load through HAProxy until fleet_load_stop,
# as back-to-back 1 s runs (each a JSON line), capped at FLEET_LOAD_CAP seconds.
fleet_load_start() {
    local name=$1; shift
    rm -f "$T_DIR/$name.stop" "$T_DIR/$name.jsonl"
    (
        end=$((SECONDS + FLEET_LOAD_CAP))
        while [ ! -e "$T_DIR/$name.stop" ] && [ $SECONDS -lt $end ]; do
            "$BATON_REL" load "http://$(fleet_addr lb)/" --duration 1 --json "$@" \
                >>"$T_DIR/$name.jsonl" 2>>"$T_DIR/$name.err"
        done
    ) &
    eval "FLEET_LOAD_$name=$!"
    track $!
}

# fleet_load_stop NAME: ends the load; prints "requests failed" and keeps the totals in
# $T_DIR/NAME.json.
fleet_load_stop() {
    local name=$1 pid
    touch "$T_DIR/$name.stop"
    eval "pid=\$FLEET_LOAD_$name"
    wait "$pid" 2>/dev/null
    jq -s '{requests: (map(.requests) | add), failed: (map(.failed) | add),
            failures: (map(.failures) | reduce .[] as $f ({}; . as $a | $f | to_entries
                        | reduce .[] as $e ($a; .[$e.key] += $e.value))),
            versions: (map(.versions | map_values(.count)) | reduce .[] as $v ({}; . as $a
                        | $v | to_entries | reduce .[] as $e ($a; .[$e.key] += $e.value)))}' \
        "$T_DIR/$name.jsonl" >"$T_DIR/$name.json"
    jq -r '"\(.requests) \(.failed)"' "$T_DIR/$name.json"
}
