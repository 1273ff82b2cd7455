#!/usr/bin/env bash
# The example unit examples/systemd/baton@.service: systemd-analyze verifies it without
# a word, and its own command lines work as systemd would run them (Type=notify, a fake
# NOTIFY_SOCKET): ExecStart with the example config web.ini reaches READY=1, ExecReload
# upgrades (exit 0, RELOADING=1 then READY=1 with the new generation), and SIGTERM
# (KillSignal) stops the master gracefully, exit 0, after STOPPING=1.
. "$(dirname "$0")/../../lib/master.sh"
ex=$(cd "$(dirname "$0")/../../../examples/systemd" && pwd)
mkdir -p "$T_DIR/etc" "$T_DIR/run" "$T_DIR/units"
# The unit and config as installed here: paths of this build and this test.
sed -e "s|/usr/local/bin/baton|$BATON|g" -e "s|/etc/baton/|$T_DIR/etc/|g" \
    -e "s|/run/baton/|$T_DIR/run/|g" "$ex/baton@.service" >"$T_DIR/units/baton@web.service"
sed -e "s|/usr/local/bin/httpapp|$APP|" -e "s|127.0.0.1:8080|127.0.0.1:$PORT|" \
    "$ex/web.ini" >"$T_DIR/etc/web.ini"

if command -v systemd-analyze >/dev/null; then
    out=$(cd "$T_DIR/units" && timeout 60 systemd-analyze verify --man=no ./baton@web.service 2>&1) ||
        fail "systemd-analyze verify failed: $out"
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
else
    log "systemd-analyze not installed: the unit's syntax is not verified"
fi

# unit_cmd KEY: the unit's command line for KEY, instance 'web' (%i expanded).
unit_cmd() { sed -n "s/^$1=//p" "$T_DIR/units/baton@web.service" | sed 's/%i/web/g'; }
start=$(unit_cmd ExecStart) reload=$(unit_cmd ExecReload)
[ -n "$start" ] && [ -n "$reload" ] || fail "the unit has no ExecStart or ExecReload"
grep -qx 'Type=notify' "$T_DIR/units/baton@web.service" || fail "the unit is not Type=notify"

sock=$T_DIR/notify.sock got=$T_DIR/notify.jsonl
python3 "$(dirname "$0")/notify_listener.py" "$sock" "$got" 2>"$T_DIR/listener.log" &
track $!
wait_for 30 test -S "$sock" || fail "the fake NOTIFY_SOCKET did not start"
# shellcheck disable=SC2086 # the unit's command line, split as systemd splits it (no quotes)
NOTIFY_SOCKET=$sock $start 2>"$T_DIR/master.log" &
MASTER=$!
track $MASTER
wait_for 60 grep -q 'READY=1' "$got" || fail "ExecStart did not reach READY=1"
curl -sf "$URL" >/dev/null || fail "the instance does not serve $URL"
# shellcheck disable=SC2086
$reload >"$T_DIR/reload.out" 2>&1 || fail "ExecReload failed: $(cat "$T_DIR/reload.out")"
kill -TERM $MASTER
wait $MASTER || fail "the master exited non-zero after SIGTERM"
python3 - "$got" <<'PY' || fail "the notifications are wrong (above)"
import json, sys
texts = [json.loads(l)["text"] for l in open(sys.argv[1])]
texts = [t for t in texts if t != "WATCHDOG=1"]
keys = [t.split("\n")[0] for t in texts]
want = ["STATUS=generation 1 starting", "READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]
assert keys == want, texts
assert texts[3] == "READY=1\nSTATUS=generation 2 serves", texts[3]
PY
