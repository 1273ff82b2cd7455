#!/usr/bin/env bash
# What docs/examples-servers.md says goes wrong with uWSGI 2.0 without the options of
# recipes/uwsgi.sh, checked against the real one:
# - Debian's uwsgi does not know --wsgi-file without --plugin python3;
# - TERM with --die-on-term cuts a request in flight; HUP with --exit-on-reload and the
#   master FIFO's q let it finish and exit 0; QUIT with --die-on-term cuts it too and
#   reloads uWSGI instead of stopping it;
# - without --need-app a release that cannot load is served (500s), not rolled back;
# - with --lazy-apps READY=1 comes before the app loads: same, then a crash loop.
. "$(dirname "$0")/driver.sh"
load_recipe uwsgi

out=$(uwsgi --http11-socket "127.0.0.1:$PORT" --wsgi-file "$APP_DIR/app.py" 2>&1)
rc=$?
[ $rc -ne 0 ] && grep -q "unrecognized option '--wsgi-file'" <<<"$out" ||
    fail "uwsgi without --plugin python3: exit $rc, $out"

# standalone OPTION...: uWSGI on its own socket (no baton) with a master FIFO; sets
# UPID, UPORT and ULOG.
standalone() {
    UPORT=$(free_port)
    ULOG=$T_DIR/uwsgi-$UPORT.log
    APP_SLOW_MARK=$T_DIR/slow-started uwsgi --plugin python3 --master --processes 2 \
        --http11-socket "127.0.0.1:$UPORT" --chdir "$APP_DIR" --wsgi-file app.py --need-app \
        --disable-logging --master-fifo "$T_DIR/fifo-$UPORT" "$@" >"$ULOG" 2>&1 &
    UPID=$!
    track "$UPID"
    wait_for 30 curl -sf "http://127.0.0.1:$UPORT/" || fail "uWSGI $* did not start: $(tail -5 "$ULOG")"
}
# in_flight STOP...: GET /slow (2 s); once the app has it, runs STOP; prints the HTTP
# status the client got (000: no answer).
in_flight() {
    rm -f "$T_DIR/slow-started"
    curl -s -o /dev/null -w '%{http_code}' --max-time 20 "http://127.0.0.1:$UPORT/slow" \
        >"$T_DIR/slow.code" &
    local c=$!
    wait_for 20 test -e "$T_DIR/slow-started" || fail "GET /slow never reached the app"
    "$@"
    wait $c
    cat "$T_DIR/slow.code"
}
# exits_by_itself: uWSGI ends within 30 s; its exit status.
exits_by_itself() {
    wait_for 30 sh -c "! kill -0 $UPID 2>/dev/null" || fail "uWSGI $UPID did not exit"
    wait "$UPID"
}

standalone --die-on-term
code=$(in_flight kill -TERM "$UPID")
[ "$code" = 000 ] || fail "TERM with --die-on-term: the request in flight got $code, want no answer"
exits_by_itself
log "TERM with --die-on-term: the request in flight got no answer"

standalone --exit-on-reload
code=$(in_flight kill -HUP "$UPID")
[ "$code" = 200 ] || fail "HUP with --exit-on-reload: the request in flight got $code"
exits_by_itself || fail "HUP with --exit-on-reload: exit status $?"

standalone
code=$(in_flight sh -c "echo q >$T_DIR/fifo-$UPORT")
[ "$code" = 200 ] || fail "the master FIFO's q: the request in flight got $code"
exits_by_itself || fail "the master FIFO's q: exit status $?"

standalone --die-on-term
code=$(in_flight kill -QUIT "$UPID")
[ "$code" = 000 ] || fail "QUIT with --die-on-term: the request in flight got $code, want no answer"
wait_for 30 grep -q "gracefully (RE)spawned uWSGI master process" "$ULOG" ||
    fail "QUIT with --die-on-term did not reload: $(tail -5 "$ULOG")"
kill -0 "$UPID" 2>/dev/null || fail "QUIT with --die-on-term stopped uWSGI"
curl -sf "http://127.0.0.1:$UPORT/" >/dev/null || fail "uWSGI does not serve after QUIT"
kill -KILL "$UPID" # its workers follow their master
log "QUIT with --die-on-term cuts the request and reloads; HUP with --exit-on-reload and q stop gracefully"

# Under baton run: the recipe's options but one, and a release that cannot load.
# Without --need-app: uWSGI reports ready with no app and answers 500.
uwsgi_cmd() {
    CMD=(uwsgi --plugin python3 --master --processes 2 --threads 4 --protocol http11
        --disable-logging --chdir "$APP_DIR" --exit-on-reload --worker-reload-mercy 30 "$@")
}
MASTER_LOG=$T_DIR/master-no-need-app.log
broken_accepted
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL")
[ "$code" = 500 ] || fail "without --need-app the broken release answers $code, want 500"
grep -q "no app loaded" "$MASTER_LOG" || fail "uWSGI did not say 'no app loaded'"
stop_master
log "without --need-app: the broken release was accepted and answers 500"

# With --lazy-apps (and --need-app): the master is ready before any worker loads the
# app; the workers then fail, uWSGI exits 22 and baton restarts it, in a loop.
load_recipe uwsgi
release() { uwsgi_cmd --lazy-apps --wsgi-file app.py --env "APP_VERSION=$1"; }
broken_release() { uwsgi_cmd --lazy-apps --wsgi-file broken.py; }
MASTER_LOG=$T_DIR/master-lazy-apps.log
broken_accepted
wait_for 30 grep -qE "generation $BROKEN_GEN: worker [0-9]+ \(slot 0\) exited with status 22" \
    "$MASTER_LOG" || fail "with --lazy-apps the broken release did not fail after its switch"
stop_master
log "with --lazy-apps: the broken release was accepted, then exited 22"
