#!/usr/bin/env bash
# The master is killed with SIGKILL under --close load: its workers keep serving; a new
# `baton run` with the same --control takes the listening socket back from a worker
# (pidfd_getfd, no re-bind), starts a fresh generation and drains the orphans, with 0
# failed requests.
. "$(dirname "$0")/../../lib/master.sh"
. "$(dirname "$0")/../../lib/load.sh"
master_start --workers 2 --drain-timeout 30 -- "$APP" --version v1
orphans=$(worker_pids 1)
load_start load "$URL" --connections 8 --close
kill -KILL "$MASTER"
wait "$MASTER" 2>/dev/null
load_wait_more load 100 # the orphans go on answering the load without their master
[ "$(version_now)" = v1 ] || fail "the orphaned workers do not serve"
"$BATON" run --listen "127.0.0.1:$PORT" --control "$CTL" --workers 2 --drain-timeout 30 \
    -- "$APP" --version v2 >>"$T_DIR/master2.log" 2>&1 &
MASTER2=$!
track "$MASTER2"
wait_for 60 version_is v2 || fail "the new master did not switch to v2"
gone() { for p in $orphans; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 60 gone || fail "orphaned workers were not drained: $orphans"
load_wait_version load v2
load_stop load
load_check load
grep -q "recovered listening socket 127.0.0.1:$PORT from worker" "$T_DIR/master2.log" ||
    fail "the listening socket was not recovered from a worker"
grep -q "listening on" "$T_DIR/master2.log" && fail "the new master bound the address again"
status_holds '[.generations[]|select(.state=="serving")]|length == 1' || fail "status: $(master_ctl status --json)"
status_holds '.generations[]|select(.current)|.command|index("v2")' || fail "status: $(master_ctl status --json)"
