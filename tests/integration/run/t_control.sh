#!/usr/bin/env bash
# The control socket refuses another uid (by the peer-credential check, not by file
# permissions: the socket is made 0666 in a 0711 directory for this test); malformed
# requests and configs get a clear error and the master keeps running.
. "$(dirname "$0")/../../lib/master.sh"
CTL=$T_DIR/pub/baton.sock
mkdir -m 0711 "$T_DIR/pub"
master_start --workers 1 -- "$APP" --version v1
[ "$(stat -c %a "$CTL")" = 600 ] || fail "control socket mode is $(stat -c %a "$CTL"), not 600"
chmod 0666 "$CTL"
out=$(runuser -u nobody -- "$BATON" status --control "$CTL" 2>&1); rc=$?
log "as nobody: exit $rc: $out"
[ $rc -eq 1 ] || fail "a request from uid nobody was not refused (exit $rc)"
grep -q "permission denied: uid $(id -u nobody) may not control this baton (owner uid 0)" <<<"$out" ||
    fail "unexpected refusal message: $out"
out=$(runuser -u nobody -- "$BATON" stop --control "$CTL" 2>&1) && fail "nobody could stop the master"
kill -0 "$MASTER" || fail "the master died"

# Malformed requests: raw lines on the control socket.
send() {
    python3 - "$CTL" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n"); print(s.recv(65536).decode().strip())
PY
}
expect_error() {
    local out
    out=$(send "$1")
    log "request $1 -> $out"
    jq -e '.ok == false' <<<"$out" >/dev/null || fail "request $1 was not refused: $out"
    grep -qF "$2" <<<"$(jq -r .error <<<"$out")" || fail "request $1: unexpected error: $out"
}
expect_error 'not json' "malformed control request:"
expect_error '[1,2]' "malformed control request: expected a JSON object"
expect_error '{"nocmd":1}' 'malformed control request: missing string field "cmd"'
expect_error '{"cmd":"bogus"}' "unknown command 'bogus'; expected upgrade, rollback, status, stop or reexec"
expect_error '{"cmd":"upgrade","command":"notalist"}' 'malformed control request: "command" must be an array'
expect_error '{"cmd":"upgrade","command":[1]}' 'malformed control request: "command" word 0 must be a non-empty string'
expect_error '{"cmd":"reexec","binary":7}' 'malformed control request: "binary" must be a path'
head -c 70000 /dev/zero | tr '\0' 'x' >"$T_DIR/big"
expect_error "$(cat "$T_DIR/big")" "control request longer than 65536 bytes"
master_ctl status >/dev/null || fail "the master stopped answering after malformed requests"
[ "$(version_now)" = v1 ] || fail "v1 does not serve"
out=$(master_ctl upgrade -- "$T_DIR/does-not-exist" 2>&1) && fail "upgrade to a missing binary succeeded"
grep -q "rolled back: worker [0-9]* exited with status 127 before it was ready" <<<"$out" ||
    fail "unexpected message for a missing binary: $out"

# Malformed config files and arguments: exit 2 with file, line and key.
printf '[run]\nworkers = 2\nwrokers = 3\n' >"$T_DIR/bad.ini"
out=$("$BATON" run --config "$T_DIR/bad.ini" 2>&1); rc=$?
[ $rc -eq 2 ] || fail "bad config: exit $rc, expected 2"
grep -qF "$T_DIR/bad.ini:3: unknown key 'wrokers' in [run]" <<<"$out" || fail "bad config: $out"
out=$("$BATON" run --listen 127.0.0.1:1 --ready sometimes -- true 2>&1); rc=$?
[ $rc -eq 2 ] || fail "bad --ready: exit $rc"
grep -qF "invalid --ready 'sometimes': expected notify, exec:CMD or after:MS" <<<"$out" || fail "bad --ready: $out"
out=$("$BATON" run --listen 127.0.0.1:1 2>&1); rc=$?
[ $rc -eq 2 ] || fail "missing command: exit $rc"
# A second master on the same control socket is refused; the first keeps running.
out=$("$BATON" run --listen 127.0.0.1:$(free_port) --control "$CTL" -- "$APP" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "second master: exit $rc"
grep -q "is in use by a running baton" <<<"$out" || fail "second master: $out"
master_ctl status >/dev/null || fail "the master stopped answering"

# A first generation that cannot start makes `baton run` exit 1 with the reason.
out=$("$BATON" run --listen "127.0.0.1:$(free_port)" --control "$T_DIR/other.sock" \
    -- "$T_DIR/no-such-app" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "a master whose first generation fails exited $rc, expected 1"
grep -q "generation 1 failed: worker [0-9]* exited with status 127 before it was ready" <<<"$out" ||
    fail "no reason for the failed first generation: $out"
grep -q "cannot run '$T_DIR/no-such-app': No such file or directory" <<<"$out" ||
    fail "the exec failure was not reported: $out"
