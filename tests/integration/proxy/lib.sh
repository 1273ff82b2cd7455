# Helpers for the proxy's integration tests (bash; source after tests/lib/common.sh):
# httpapp backends on free ports, a `baton proxy` with its control socket in $T_DIR,
# and `ctl` to run a runtime verb against it.
: "${EXAMPLES:?EXAMPLES must point to the built examples}"
PX_CTL="$T_DIR/proxy.sock"
# Debian's python3 (python3-h11 lives there), not a version manager's shim that takes
# seconds to start on a busy machine; raw.py needs the standard library only.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
RAW="$PY $(dirname "$0")/raw.py"

# start_app VERSION [httpapp options...]: starts httpapp on a free port; sets APP_PORT
# and remembers the pid in APP_PID_<VERSION>.
start_app() {
    local version=$1; shift
    APP_PORT=$(free_port)
    PORT=$APP_PORT "$EXAMPLES/httpapp" --version "$version" "$@" 2>>"$T_DIR/app-$version.log" &
    local pid=$!
    track $pid
    eval "APP_PID_${version//-/_}=$pid"
    wait_for 5 port_open "$APP_PORT" || fail "httpapp $version did not listen on $APP_PORT"
}

# start_proxy [baton proxy options...]: listens on a free port (PX_PORT), control
# socket $PX_CTL, log $T_DIR/proxy.log; waits until it answers `backend list`.
start_proxy() {
    PX_PORT=$(free_port)
    "$BATON" proxy --listen "127.0.0.1:$PX_PORT" --control "$PX_CTL" "$@" \
        2>>"$T_DIR/proxy.log" &
    PX_PID=$!
    track $PX_PID
    wait_for 10 "$BATON" backend list --control "$PX_CTL" || fail "proxy did not start"
    wait_for 5 port_open "$PX_PORT" || fail "proxy did not listen on $PX_PORT"
}

# stop_proxy: SIGTERM and wait for a clean exit (status 0).
stop_proxy() {
    kill -TERM "$PX_PID" 2>/dev/null
    local rc=0
    wait "$PX_PID" || rc=$?
    [ $rc -eq 0 ] || fail "proxy exited with status $rc after SIGTERM"
}

ctl() { "$BATON" "$@" --control "$PX_CTL"; }

# backend_field NAME FIELD: one field of a backend from `backend list --json`.
backend_field() {
    ctl backend list --json | jq -r --arg n "$1" ".backends[] | select(.name == \$n) | .$2"
}

backend_is() { [ "$(backend_field "$1" state)" = "$2" ]; }

# load_check FILE: the load JSON in FILE reports 0 failed requests.
load_ok() {
    local f=$1
    [ -s "$f" ] || fail "no load report in $f"
    local failed
    failed=$(jq -r .failed "$f")
    [ "$failed" = 0 ] || fail "load saw $failed failed requests: $(jq -c .failures "$f")"
}

# Predicates for wait_for (evaluated at each poll, unlike a "[ "$(...)" = x ]" argument):
backend_conns_are() { [ "$(backend_field "$1" connections)" = "$2" ]; }
client_conns_are() { [ "$(ctl backend list --json | jq -r .connections)" = "$1" ]; }
lines_are() { [ "$(grep -cx "$2" "$1" 2>/dev/null)" = "$3" ]; } # FILE LINE COUNT
