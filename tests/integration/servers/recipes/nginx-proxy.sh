# nginx in --mode proxy: nginx cannot take an inherited socket, so it binds the private
# port baton gives in $PORT. The releases are those of tests/lib/nginx_recipe.sh (each a
# directory with its config template; the command writes the config with `listen
# 127.0.0.1:$PORT`, then execs nginx in the foreground). QUIT is its graceful stop (TERM
# is fast). Ready when GET / answers.
NEEDS=(nginx)
RUN=(--mode proxy --ready http:/ --stop-signal QUIT --drain-timeout 35)
NGINX_LISTEN=
. "$(dirname "${BASH_SOURCE[0]}")/../../../lib/nginx_recipe.sh"
