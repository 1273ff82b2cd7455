# lighttpd, handoff mode: it takes the inherited socket with
# server.systemd-socket-activation (server.bind/server.port equal to --listen) and runs
# in the foreground (-D). It sends no READY=1, so each generation also listens on a
# Unix socket of its own (BATON_GENERATION reaches its config as env.BATON_GENERATION)
# and is ready once it answers there: its event loop runs. SIGINT is its graceful stop
# (TERM stops at once). Each release is a directory with its config and documents.
NEEDS=(lighttpd curl)
RUN=(--stop-signal INT --drain-timeout 35
    --ready "exec:curl -sf --unix-socket $T_DIR/ready-\$BATON_GENERATION.sock http://localhost/")
lighttpd_listen() {
    echo 'server.systemd-socket-activation = "enable"'
    echo "server.bind = \"127.0.0.1\""
    echo "server.port = $PORT"
    echo "\$SERVER[\"socket\"] == \"$T_DIR/ready-\" + env.BATON_GENERATION + \".sock\" { }"
}
# lighttpd_site VERSION [CONFIG LINE...]: writes the release $T_DIR/site/VERSION and
# sets CMD to run it.
lighttpd_site() {
    local d=$T_DIR/site/$1
    mkdir -p "$d/htdocs"
    echo "$1" >"$d/htdocs/index.html"
    {
        lighttpd_listen
        echo "server.document-root = \"$d/htdocs\""
        echo 'index-file.names = ("index.html")'
        printf '%s\n' "${@:2}"
    } >"$d/lighttpd.conf"
    CMD=(lighttpd -D -f "$d/lighttpd.conf")
}
release() { lighttpd_site "$1"; }
# A release whose config names a module that is not installed: lighttpd exits at start.
broken_release() { lighttpd_site broken 'server.modules += ("mod_missing")'; }
ROLLBACK_REASON='worker [0-9]+ exited with status 255 before it was ready'
# Ready by a probe, so `upgrade` answers when SIGINT is sent, not when lighttpd has
# closed its listener: no check of connections made right after the switch.
SWITCH_CHECK=0
