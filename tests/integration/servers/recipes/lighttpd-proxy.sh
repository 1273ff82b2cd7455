# lighttpd in --mode proxy: it binds the private port baton gives in $PORT (its config
# reads env.PORT) and keep-alive clients stay on baton's proxy worker, so its graceful
# stop (SIGINT) closing idle connections loses nothing. Ready when GET / answers.
# Releases are written as in recipes/lighttpd-handoff.sh, with another listener.
. "$SERVERS_DIR/recipes/lighttpd-handoff.sh"
RUN=(--mode proxy --ready http:/ --stop-signal INT --drain-timeout 35)
lighttpd_listen() {
    echo 'server.bind = "127.0.0.1"'
    echo 'server.port = env.PORT'
}
SWITCH_CHECK=1
