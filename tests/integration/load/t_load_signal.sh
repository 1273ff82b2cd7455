#!/usr/bin/env bash
# SIGTERM or SIGINT ends a `baton load` run early as its duration would: the requests in
# flight finish, the figures are printed, and the exit code says whether any failed. A
# test can so bound its load by its own scenario instead of by a guessed duration.
. "$(dirname "$0")/../../lib/common.sh"

port=$(free_port)
PORT=$port "$EXAMPLES/httpapp" --version v1 2>"$T_DIR/app.log" &
app=$!; track $app
wait_for 10 port_open "$port" || fail "app did not start"

# live_shows FILE PATTERN: a --live line of FILE matches PATTERN (the run's signal
# handling is in place before its first line).
live_shows() { grep -q "$2" "$1"; }

# stopped_run NAME SIGNAL ARGS...: a load capped at 120 s, stopped by SIGNAL once its
# --live timeline shows answered requests; its JSON is $T_DIR/NAME.json.
stopped_run() {
    local name=$1 sig=$2; shift 2
    "$BATON" load "http://127.0.0.1:$port/" --duration 120 --json --live "$@" \
        >"$T_DIR/$name.json" 2>"$T_DIR/$name.err" &
    local pid=$!; track $pid
    wait_for 60 live_shows "$T_DIR/$name.err" '"versions":{"' || fail "$name: no request answered"
    kill "-$sig" $pid
    wait $pid; local rc=$?
    [ $rc -eq 0 ] || fail "$name: exit $rc after SIG$sig: $(cat "$T_DIR/$name.err")"
    [ -s "$T_DIR/$name.json" ] || fail "$name: no report after SIG$sig"
    check "$name: requests answered" [ "$(jget "$T_DIR/$name.json" .ok)" -gt 0 ]
    check "$name: none failed" [ "$(jget "$T_DIR/$name.json" .failed)" -eq 0 ]
    check "$name: ended by the signal" [ "$(jget "$T_DIR/$name.json" .duration_ms)" -lt 60000 ]
    check "$name: every request counted once" \
        [ "$(jget "$T_DIR/$name.json" '[.timeline[].requests] | add')" -eq "$(jget "$T_DIR/$name.json" .requests)" ]
}
stopped_run keepalive TERM --connections 4
stopped_run close TERM --connections 4 --close
# bash starts background jobs with SIGINT ignored; an explicit kill -INT still ends the run.
stopped_run interrupted INT --connections 2

# Against a dead app the stopped run still reports its failures and exits 1.
kill -9 $app; wait $app 2>/dev/null
"$BATON" load "http://127.0.0.1:$port/" --duration 120 --json --live >"$T_DIR/dead.json" \
    2>"$T_DIR/dead.err" &
pid=$!; track $pid
wait_for 60 live_shows "$T_DIR/dead.err" '^{' || fail "dead: no timeline line"
kill -TERM $pid
wait $pid; rc=$?
[ $rc -eq 1 ] || fail "stopped run against a dead port: exit $rc, want 1"
check "connect failures reported" [ "$(jget "$T_DIR/dead.json" .failures.connect)" -gt 0 ]
log "ok"
