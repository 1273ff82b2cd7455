#!/usr/bin/env bash
# A master configured by an INI file ([run] section, command key), with readiness by
# a probe command (exec:) and by delay (after:); SIGHUP upgrades and SIGTERM stops.
. "$(dirname "$0")/../../lib/master.sh"
cat >"$T_DIR/run.ini" <<INI
[run]
listen = web=127.0.0.1:$PORT
workers = 2
ready = exec:curl -sf $URL
drain-timeout = 2
control = $CTL
command = $APP --version v1
INI
"$BATON" run --config "$T_DIR/run.ini" >>"$T_DIR/master.log" 2>&1 &
MASTER=$!
track "$MASTER"
wait_for 60 curl -sf "$URL" || fail "config-driven master did not serve"
st=$(master_ctl status --json)
[ "$(echo "$st" | jq '.generations[0].workers|length')" = 2 ] || fail "workers = 2 ignored: $st"
[ "$(echo "$st" | jq -r '.listen[0].name')" = web ] || fail "listen name lost: $st"
kill -HUP "$MASTER"
wait_for 60 status_holds '.current_generation == 2' ||
    fail "SIGHUP did not upgrade"
grep -q "generation 2: readiness probe succeeded" "$T_DIR/master.log" || fail "probe not used"
# A re-exec does not read the config file again: breaking it changes nothing.
echo "wrokers = 3" >>"$T_DIR/run.ini"
master_ctl reexec >/dev/null || fail "reexec after the config file changed failed"
st=$(master_ctl status --json)
[ "$(echo "$st" | jq .reexecs)" = 1 ] || fail "no re-exec: $st"
[ "$(echo "$st" | jq '.generations[0].workers|length')" = 2 ] || fail "workers lost: $st"
kill -TERM "$MASTER"
wait "$MASTER"; rc=$?
[ $rc -eq 0 ] || fail "SIGTERM stop exited $rc"
[ -e "$CTL" ] && fail "the control socket was left behind"
[ -e "$T_DIR/ctl/baton.notify" ] && fail "the notify socket was left behind"

# after:MS readiness, and the environment a worker gets.
"$BATON" run --listen "127.0.0.1:$PORT" --listen "admin=unix:$T_DIR/admin.sock" --control "$CTL" \
    --ready after:100 -- sh -c 'env > '"$T_DIR"'/env.txt; exec "$0" --version v9' "$APP" \
    >>"$T_DIR/master.log" 2>&1 &
MASTER=$!
track "$MASTER"
wait_for 60 curl -sf "$URL" || fail "after:100 master did not serve"
grep -qx "LISTEN_FDS=2" "$T_DIR/env.txt" || fail "LISTEN_FDS: $(cat "$T_DIR/env.txt")"
grep -qx "LISTEN_FDNAMES=unknown:admin" "$T_DIR/env.txt" || fail "LISTEN_FDNAMES wrong"
grep -qx "BATON_GENERATION=1" "$T_DIR/env.txt" || fail "BATON_GENERATION wrong"
grep -q "^NOTIFY_SOCKET=$T_DIR/ctl/baton.notify$" "$T_DIR/env.txt" || fail "NOTIFY_SOCKET wrong"
[ "$(curl -s --unix-socket "$T_DIR/admin.sock" http://x/ | head -1)" = v9 ] || fail "unix listener"
master_stop # and gone: the next master reuses the control and notify paths

# READY=1 sent by a process the worker forked counts for the worker (NotifyAccess=all).
cat >"$T_DIR/notify.py" <<'PY'
import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
time.sleep(0.5)  # as with systemd, the sender must still exist when the master reads
PY
"$BATON" run --listen "127.0.0.1:$PORT" --control "$CTL" --ready-timeout 60 \
    -- sh -c 'python3 '"$T_DIR"'/notify.py; exec "$0" --version v10 --never-ready' "$APP" \
    >>"$T_DIR/master.log" 2>&1 &
MASTER=$!
track "$MASTER"
wait_for 60 status_holds '.generations[0].state == "serving"' ||
    fail "READY=1 from a worker's child was not counted"
[ "$(version_now)" = v10 ] || fail "v10 does not serve"
master_stop
