# shellcheck shell=bash
# The nginx releases of the server recipes (reuseport/recipes/nginx.sh,
# servers/recipes/nginx-proxy.sh), sourced by them after they set NGINX_LISTEN, the
# words after `listen 127.0.0.1:$PORT` (e.g. reuseport). nginx's config cannot read the
# environment, so a release's command writes its config from a template with the port
# baton gives in $PORT first, then execs nginx in the foreground (daemon off).

# nginx_site VERSION [CONFIG LINE...]: writes the release $T_DIR/site/VERSION (its
# config template nginx.conf.in: two workers answering VERSION, then the lines in http)
# and sets CMD to run it.
nginx_site() {
    local d=$T_DIR/site/$1
    mkdir -p "$d/logs"
    cat >"$d/nginx.conf.in" <<CONF
pid $d/logs/nginx-@PORT@.pid;
error_log stderr;
worker_processes 2;
events { }
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT@${NGINX_LISTEN:+ $NGINX_LISTEN};
        location / {
            add_header X-Version $1;
            return 200 "$1\n";
        }
    }
$(printf '    %s\n' "${@:2}")
}
CONF
    CMD=(sh -c 'sed "s/@PORT@/$PORT/g" "$1/nginx.conf.in" >"$1/nginx-$PORT.conf" &&
        exec nginx -p "$1" -e stderr -c "$1/nginx-$PORT.conf" -g "daemon off;"' nginx "$d")
}
release() { nginx_site "$1"; }
# A release whose config has a directive nginx does not know: it exits at start.
broken_release() { nginx_site broken 'proxy_pass_everything on;'; }
ROLLBACK_REASON='worker [0-9]+ exited with status 1 before it was ready'
