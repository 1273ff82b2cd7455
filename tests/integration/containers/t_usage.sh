#!/usr/bin/env bash
# The container options without a container engine: the usage errors of --image,
# --container-port, --engine and `upgrade --image` (exit 2, exact messages); a master
# refusing container commands it cannot run and image upgrades it was not started for
# (exit 1, the master keeps serving); and the short form's plumbing through a stand-in
# engine on PATH (a script that runs the example app on the published port and logs
# its `rm` calls): the command written, the image upgraded and sent raw over the
# control socket, malformed "image" fields refused, and each generation's container
# removed by name when it is gone.
. "$(dirname "$0")/../../lib/master.sh"
usage_error() { # usage_error MESSAGE VERB ARGS...
    local msg=$1 verb=$2; shift 2
    local out rc
    out=$("$BATON" "$verb" "$@" 2>&1); rc=$?
    [ $rc -eq 2 ] || fail "baton $verb $*: exit $rc, expected 2: $out"
    [ "$out" = "$msg" ] || fail "baton $verb $*: unexpected message: $out"
}
L=(--listen 127.0.0.1:1)
usage_error "baton run: --image needs --mode proxy and --container-port PORT" run "${L[@]}" --image app:v1
usage_error "baton run: --image needs --mode proxy and --container-port PORT" run "${L[@]}" --mode proxy --image app:v1
usage_error "baton run: --container-port and --engine need --image" run "${L[@]}" --mode proxy --container-port 80 -- true
usage_error "baton run: invalid --engine 'lxc': expected podman or docker" run "${L[@]}" --mode proxy --engine lxc --image a --container-port 80
usage_error "baton run: invalid image 'app v1': expected a reference of letters, digits and '._/:@-' (at most 255 bytes, not starting with '-')" \
    run "${L[@]}" --mode proxy --image 'app v1' --container-port 80
usage_error "baton run: container command: baton names each generation's container itself; remove '--name'" \
    run "${L[@]}" --mode proxy --image app:v1 --container-port 80 -- --name web
usage_error "baton run: container command: '-d' would detach the container; a generation runs it in the foreground" \
    run "${L[@]}" --mode proxy -- podman run -d app:v1
usage_error "baton run: container command 'docker run' names no image" run "${L[@]}" --mode proxy -- docker run
usage_error "baton upgrade: give --image or '-- NEWCOMMAND', not both" upgrade --control "$CTL" --image app:v2 -- app
usage_error "baton upgrade: invalid image '-v': expected a reference of letters, digits and '._/:@-' (at most 255 bytes, not starting with '-')" \
    upgrade --control "$CTL" --image -v

# A proxy-mode master of a plain command.
master_start_proxy --ready http:/ -- "$APP" --version v1
upgrade_refused() { # upgrade_refused MESSAGE UPGRADE-ARGS...
    local msg=$1; shift
    local out rc
    out=$(master_ctl upgrade "$@" 2>&1); rc=$?
    [ $rc -eq 1 ] || fail "upgrade $*: exit $rc, expected 1: $out"
    [ "$out" = "baton upgrade: $msg" ] || fail "upgrade $*: unexpected message: $out"
    version_is v1 || fail "v1 does not serve after the refused upgrade $*"
}
upgrade_refused "an upgrade to an image needs a master started with --image" --image app:v2
upgrade_refused "container command: baton names each generation's container itself; remove '--name=x'" \
    -- podman run --name=x app:v2
master_stop

# The short form through a stand-in engine: `podman run --name N --label .. --label ..
# --rm -p 127.0.0.1:PORT:80 [ARGS] IMAGE:TAG` runs the app on PORT as version TAG.
mkdir -p "$T_DIR/bin"
cat >"$T_DIR/bin/podman" <<EOF
#!/usr/bin/env bash
echo "\$*" >>"$T_DIR/engine.log"
[ "\$1" = rm ] && exit 0
publish= image=
while [ \$# -gt 0 ]; do
    case "\$1" in -p) publish=\$2; shift ;; --name|--label) shift ;; -*) ;; *) image=\$1 ;; esac
    shift
done
port=\${publish#127.0.0.1:}
exec "$APP" --listen "127.0.0.1:\${port%%:*}" --version "\${image##*:}"
EOF
chmod +x "$T_DIR/bin/podman"
PATH=$T_DIR/bin:$PATH master_start_proxy --name web --ready http:/ --drain-timeout 5s \
    --image app:v1 --container-port 80 -- --pull=never
version_is v1 || fail "v1 does not serve"
grep -qxE "run --name web-g1 --label baton.instance=web --label baton.generation=1 --rm -p 127.0.0.1:[0-9]+:80 --pull=never app:v1" \
    "$T_DIR/engine.log" || fail "unexpected engine command: $(cat "$T_DIR/engine.log")"
out=$(master_ctl upgrade --image app:v2 2>&1) || fail "upgrade --image app:v2 failed: $out"
version_is v2 || fail "v2 does not serve"
# Generation 1 may still be draining beside it: look at the current one.
status_holds '.generations[]|select(.current)|.command[-1] == "app:v2"' || fail "status: $(master_ctl status --json)"
# Raw requests: the image is checked by the master too.
raw() {
    python3 - "$CTL" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
PY
}
for req in '{"cmd":"upgrade","image":"-it"}' '{"cmd":"upgrade","image":"a b"}' '{"cmd":"upgrade","image":7}' \
    '{"cmd":"upgrade","image":"app:v3","command":["x"]}'; do
    reply=$(raw "$req")
    jq -e '.ok == false and (.error|test("invalid image|must be a string|not both"))' <<<"$reply" >/dev/null ||
        fail "$req: unexpected reply: $reply"
done
reply=$(raw '{"cmd":"upgrade","image":"app:v3"}')
jq -e '.ok and .generation == 3' <<<"$reply" >/dev/null || fail "raw image upgrade: $reply"
version_is v3 || fail "v3 does not serve"
wait_for 60 grep -qx "rm --force --ignore --time 0 web-g2" "$T_DIR/engine.log" ||
    fail "generation 2's container was not removed: $(cat "$T_DIR/engine.log")"
master_stop
grep -qx "rm --force --ignore --time 0 web-g3" "$T_DIR/engine.log" ||
    fail "stop did not remove generation 3's container: $(cat "$T_DIR/engine.log")"
