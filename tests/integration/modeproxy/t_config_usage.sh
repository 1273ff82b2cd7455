#!/usr/bin/env bash
# --mode proxy from a config file (section [run]: mode, proxy-mode, private-ports,
# ready), and the usage errors of the new options: exit 2 with the exact message.
. "$(dirname "$0")/../../lib/master.sh"
usage_error() { # usage_error MESSAGE RUN-ARGS...
    local msg=$1; shift
    local out rc
    out=$("$BATON" run "$@" 2>&1); rc=$?
    [ $rc -eq 2 ] || fail "baton run $*: exit $rc, expected 2: $out"
    [ "$out" = "$msg" ] || fail "baton run $*: unexpected message: $out"
}
usage_error "baton run: invalid --mode 'bogus': expected handoff, proxy or reuseport" --mode bogus --listen 127.0.0.1:1 -- true
usage_error "baton run: invalid --proxy-mode 'udp': expected http or tcp" --mode proxy --proxy-mode udp --listen 127.0.0.1:1 -- true
usage_error "baton run: invalid --private-ports '5-3': expected LO-HI within 1024-65535" --mode proxy --private-ports 5-3 --listen 127.0.0.1:1 -- true
usage_error "baton run: --proxy-mode and --private-ports need --mode proxy" --proxy-mode tcp --listen 127.0.0.1:1 -- true
usage_error "baton run: --ready connect and http:PATH need --mode proxy or reuseport (the app's own socket is what they check)" --ready http:/health --listen 127.0.0.1:1 -- true
usage_error "baton run: invalid --ready 'http:health': expected notify, exec:CMD or after:MS (with --mode proxy also connect or http:/PATH)" --mode proxy --ready http:health --listen 127.0.0.1:1 -- true

cat >"$T_DIR/run.ini" <<INI
[run]
mode = proxy
proxy-mode = tcp
private-ports = $PRIV_LO-$PRIV_HI
ready = http:/
drain-timeout = 2
command = $APP --version c1
INI
"$BATON" run --config "$T_DIR/run.ini" --listen "127.0.0.1:$PORT" --control "$CTL" >>"$T_DIR/master.log" 2>&1 &
MASTER=$!
track "$MASTER"
wait_for 60 curl -sf "$URL" || fail "baton run --config did not start serving"
[ "$(version_now)" = c1 ] || fail "c1 does not serve"
st=$(master_ctl status --json)
[ "$(echo "$st" | jq -r '.mode + "/" + .proxy.mode')" = proxy/tcp ] || fail "config not applied: $st"
p=$(gen_ports 1)
[ "$p" -ge "$PRIV_LO" ] && [ "$p" -le "$PRIV_HI" ] || fail "port $p outside $PRIV_LO-$PRIV_HI"
master_ctl upgrade -- "$APP" --version c2 >/dev/null || fail "upgrade to c2 failed"
[ "$(version_now)" = c2 ] || fail "c2 does not serve"
master_stop
