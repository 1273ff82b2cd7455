# shellcheck shell=bash
# Helpers the upgrade benches share (sourced): free ports, waiting for one, and an
# nginx configuration that answers its version from DIR/version.conf.

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || shuf -i 20000-60000 -n 1; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

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
