# nginx with `listen 127.0.0.1:$PORT reuseport`: its master binds one socket per worker
# process with SO_REUSEPORT, beside the other versions' sockets. The releases are those
# of tests/lib/nginx_recipe.sh (a config written from a template, then nginx in the
# foreground). QUIT is its graceful stop. Ready when GET / answers (the check reaches
# the new nginx's socket alone).
NEEDS=(nginx)
RUN=(--mode reuseport --ready http:/ --stop-signal QUIT --drain-timeout 35)
NGINX_LISTEN=reuseport
. "$(dirname "${BASH_SOURCE[0]}")/../../../lib/nginx_recipe.sh"
