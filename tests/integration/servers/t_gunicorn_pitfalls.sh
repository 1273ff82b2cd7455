#!/usr/bin/env bash
# What docs/examples-servers.md says goes wrong with gunicorn without --preload,
# checked against the real one: its arbiter sends READY=1 before its workers load the
# app, so a release that cannot import is accepted (`baton upgrade` exits 0); its
# workers then fail to boot, gunicorn exits 3 and baton restarts it, in a loop.
. "$(dirname "$0")/driver.sh"
load_recipe gunicorn-sync
release() {
    CMD=(gunicorn --chdir "$APP_DIR" --workers 2 --env "APP_VERSION=$1" app:application)
}
broken_release() { CMD=(gunicorn --chdir "$APP_DIR" --workers 2 broken:application); }
broken_accepted
wait_for 60 grep -qE "generation $BROKEN_GEN: worker [0-9]+ \(slot 0\) exited with status 3" \
    "$MASTER_LOG" || fail "without --preload the broken release did not fail after its switch"
grep -q "Reason: Worker failed to boot." "$MASTER_LOG" || fail "gunicorn did not say why it exited"
stop_master
log "without --preload: the broken release was accepted, then exited 3"
