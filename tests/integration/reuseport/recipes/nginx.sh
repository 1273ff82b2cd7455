# nginx with `listen 127.0.0.1:$PORT reuseport`: its master binds one socket per worker
# process with SO_REUSEPORT, beside the other versions' sockets. The config cannot read
# the environment, so the command writes the release's config from a template first,
# then execs nginx in the foreground. QUIT is its graceful stop. Ready when GET /
# answers (the check reaches the new nginx's socket alone).
NEEDS=(nginx)
RUN=(--mode reuseport --ready http:/ --stop-signal QUIT --drain-timeout 35)
nginx_site() {
    local d=$T_DIR/site/$1
    mkdir -p "$d/logs"
    cat >"$d/nginx.conf.in" <<CONF
pid $d/logs/nginx.pid;
error_log stderr;
worker_processes 2;
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT@ reuseport;
        location / {
            add_header X-Version $1;
            return 200 "$1\n";
        }
    }
$(printf '    %s\n' "${@:2}")
}
CONF
    CMD=(sh -c 'sed "s/@PORT@/$PORT/g" "$1/nginx.conf.in" >"$1/nginx.conf" &&
        exec nginx -p "$1" -e stderr -c "$1/nginx.conf" -g "daemon off;"' nginx "$d")
}
release() { nginx_site "$1"; }
# A release whose config has a directive nginx does not know: it exits at start.
broken_release() { nginx_site broken 'proxy_pass_everything on;'; }
ROLLBACK_REASON='worker [0-9]+ exited with status 1 before it was ready'
