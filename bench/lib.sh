# shellcheck shell=bash
# Helpers every bench sources (`. "$(dirname "$0")/../lib.sh"`): a scratch directory, free
# ports, waiting for a port or a URL, and nginx as a peer: a configuration that answers
# its version from DIR/version.conf, its start, and its binary upgrade; a CPU limit per
# process (cgroup).

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

# bench_build DIR: build (DIR made absolute), BATON and APP (the example app) of the
# build in DIR; exits with the usage line when DIR is not given.
bench_build() {
    build=$(cd "${1:?usage: $(basename "$0") BUILD_DIR}" && pwd) || exit 1
    BATON=$build/baton
    APP=$build/examples/httpapp
}

# stop_pids PID...: TERM, a moment to finish, then KILL for what is left.
stop_pids() {
    local p
    for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for p in "$@"; do kill -KILL "$p" 2>/dev/null; done
}

# bench_tmp NAME: prints a fresh /tmp/baton-bench-NAME.XXXXXX, readable by nginx's workers.
bench_tmp() {
    local d
    d=$(mktemp -d "/tmp/baton-bench-$1.XXXXXX") && chmod 755 "$d" && echo "$d"
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || shuf -i 20000-60000 -n 1; }
# wait_port PORT / wait_http URL: 0 once it answers, 1 after 10 s / 20 s
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_http() { for _ in $(seq 400); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; return 1; }

# nginx_conf DIR PORT: DIR/nginx.conf, one worker on 127.0.0.1:PORT answering the
# version that DIR/version.conf sets (`set $ver V;`), everything it writes in DIR.
nginx_conf() {
    local dir=$1 port=$2
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/cb; proxy_temp_path $dir/px; fastcgi_temp_path $dir/fc;
    uwsgi_temp_path $dir/uw; scgi_temp_path $dir/sc;
    server {
        listen 127.0.0.1:$port;
        include $dir/version.conf;
        location / { default_type text/plain; add_header X-Version \$ver; return 200 "\$ver\n"; }
    }
}
CONF
}

# nginx_up DIR PORT VERSION: nginx (nginx_conf) answering VERSION; 0 once it listens.
nginx_up() {
    nginx_conf "$1" "$2"
    echo "set \$ver $3;" >"$1/version.conf"
    "$NGINX" -p "$1" -c "$1/nginx.conf" 2>>"$1/nginx-start.log" && wait_port "$2"
}

# nginx_binary_upgrade DIR VERSION: nginx's own upgrade of the master in DIR to one
# answering VERSION: USR2 (a new master beside the old), WINCH (the old workers finish
# their requests), QUIT (the old master goes); returns once the old master has gone.
nginx_binary_upgrade() {
    local dir=$1 old
    echo "set \$ver $2;" >"$dir/version.conf"
    old=$(cat "$dir/nginx.pid")
    kill -USR2 "$old"
    for _ in $(seq 500); do
        [ -f "$dir/nginx.pid.oldbin" ] && [ -s "$dir/nginx.pid" ] && [ "$(cat "$dir/nginx.pid")" != "$old" ] && break
        sleep 0.01
    done
    kill -WINCH "$old"
    sleep 0.1
    kill -QUIT "$old"
    for _ in $(seq 1000); do kill -0 "$old" 2>/dev/null || break; sleep 0.01; done
}

# haproxy_conf FILE MODE NBTHREAD MAXCONN NAME:PORT:SERVER_PORT...: writes in FILE an
# HAProxy configuration in MODE (tcp or http, keep-alive), NBTHREAD threads, MAXCONN
# connections ("" for HAProxy's default), and one `listen NAME` on 127.0.0.1:PORT each,
# in front of a server on 127.0.0.1:SERVER_PORT.
haproxy_conf() {
    local file=$1 mode=$2 nbthread=$3 maxconn=$4 listen name port server
    shift 4
    {
        printf 'global\n  nbthread %s\n' "$nbthread"
        [ -n "$maxconn" ] && printf '  maxconn %s\n' "$maxconn"
        printf 'defaults\n  mode %s\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n' "$mode"
        [ "$mode" = http ] && printf '  option http-keep-alive\n'
        for listen in "$@"; do
            IFS=: read -r name port server <<<"$listen"
            printf 'listen %s\n  bind 127.0.0.1:%s\n  server s1 127.0.0.1:%s\n' "$name" "$port" "$server"
        done
    } >"$file"
}

# A CPU limit per process, the way a proxy runs in a container with a CPU quota: a
# cgroup of its own with CFS quota CPUS (e.g. 0.5) per 10 ms period, on cgroup v2
# (cpu.max) or v1 (the cpu controller's cpu.cfs_*). Needs root.
# cpu_cap_root: prints the folder new groups go under, or fails with the reason.
cpu_cap_root() {
    local v2 v1
    v2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
    if [ -n "$v2" ] && grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null &&
        { grep -qw cpu "$v2/cgroup.subtree_control" || echo +cpu >"$v2/cgroup.subtree_control"; } 2>/dev/null; then
        echo "$v2"; return 0
    fi
    v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ {print $2; exit}' /proc/mounts)
    [ -n "$v1" ] && [ -w "$v1" ] && { echo "$v1"; return 0; }
    echo "no writable cgroup with the cpu controller (v2 ${v2:-not mounted}, v1 ${v1:-not mounted}; needs root)" >&2
    return 1
}
# cpu_cap ROOT NAME CPUS PID: makes ROOT/NAME with that quota and moves PID (its whole
# process) into it.
cpu_cap() {
    local g=$1/$2 period=10000 quota
    quota=$(awk -v c="$3" 'BEGIN {printf "%d", c * 10000}')
    mkdir -p "$g" || return 1
    if [ -f "$g/cpu.max" ]; then
        echo "$quota $period" >"$g/cpu.max"
    else
        echo "$period" >"$g/cpu.cfs_period_us" && echo "$quota" >"$g/cpu.cfs_quota_us"
    fi || return 1
    echo "$4" >"$g/cgroup.procs"
}
# cpu_cap_remove ROOT NAME...: removes the groups (their processes already stopped).
cpu_cap_remove() {
    local root=$1 n
    shift
    for n in "$@"; do rmdir "$root/$n" 2>/dev/null; done
}
