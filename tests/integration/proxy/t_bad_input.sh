#!/usr/bin/env bash
# Bad runtime commands and malformed HTTP get clear errors; the proxy keeps serving.
# Also: usage errors of the verbs (exit 2) and --config files.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app blue; BLUE=$APP_PORT
cat >"$T_DIR/proxy.ini" <<INI
[proxy]
mode = http
backend = blue/b1=127.0.0.1:$BLUE
header-max = 2048
INI
start_proxy --config "$T_DIR/proxy.ini"
[ "$(ctl backend list --json | jq -r .mode)" = http ] || fail "--config mode not applied"

expect_error() { # expect_error "MESSAGE" VERB ARGS...: exit 1 and MESSAGE on stderr
    local msg=$1; shift
    local out rc=0
    out=$(ctl "$@" 2>&1) || rc=$?
    [ $rc -eq 1 ] || fail "'$*' exited $rc, expected 1: $out"
    [[ "$out" == *"$msg"* ]] || fail "'$*' said '$out', expected '$msg'"
}
expect_error "unknown backend 'nope'" backend drain nope
expect_error "unknown backend 'nope'" backend weight nope 3
expect_error "unknown pool 'purple' (no backend is in it)" switch purple
expect_error "backend 'b1' already exists" backend add "blue/b1=127.0.0.1:1"
expect_error "invalid backend 'x=1.2.3.4': expected HOST:PORT" backend add "x=1.2.3.4"
expect_error "weight must be 0..1000" backend add "x=127.0.0.1:1,weight=5000"
rc=0; ctl backend frob b1 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "unknown action must exit 2, got $rc"
rc=0; ctl backend weight b1 -3 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "negative weight must exit 2, got $rc"
rc=0; ctl switch 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "switch without a pool must exit 2, got $rc"
rc=0; "$BATON" proxy --mode udp --listen 127.0.0.1:1 2>"$T_DIR/usage.out" || rc=$?
[ $rc -eq 2 ] && grep -q "invalid --mode 'udp'" "$T_DIR/usage.out" || fail "bad --mode: exit $rc"
"$BATON" proxy --help | grep -- "--drain-timeout\|--state-file" >/dev/null || fail "proxy --help"
"$BATON" backend --help >/dev/null && "$BATON" switch --help >/dev/null || fail "--help must exit 0"

# raw control requests
reply=$($RAW ctl "$PX_CTL" '{"cmd":"backend-weight","name":"b1","weight":"heavy"}')
[ "$(jq -r .error <<<"$reply")" = '"weight" must be an integer in 0..1000' ] || fail "reply: $reply"
reply=$($RAW ctl "$PX_CTL" '{"cmd":"explode"}')
[[ "$(jq -r .error <<<"$reply")" == "unknown command 'explode'"* ]] || fail "reply: $reply"
reply=$($RAW ctl "$PX_CTL" '{"cmd":"switch","pool":"blue","drain_timeout_ms":-5}')
[[ "$(jq -r .error <<<"$reply")" == *"non-negative integer"* ]] || fail "reply: $reply"
reply=$($RAW ctl "$PX_CTL" '{not json')
[[ "$(jq -r .error <<<"$reply")" == "malformed control request"* ]] || fail "reply: $reply"

# malformed HTTP: a clear answer and log line, and the next client is served
out=$($RAW send "$PX_PORT" 'GARBAGE\r\n\r\n')
[[ "$out" == "HTTP/1.1 400 Bad Request"* ]] || fail "garbage got: $out"
grep -q "malformed request from client 127.0.0.1" "$T_DIR/proxy.log" || fail "no log line for 400"
out=$($RAW send "$PX_PORT" 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n')
[[ "$out" == "HTTP/1.1 400 Bad Request"* ]] || fail "smuggling attempt got: $out"
big=$(head -c 3000 /dev/zero | tr '\0' a)
out=$($RAW send "$PX_PORT" "GET / HTTP/1.1\\r\\nX-Big: $big\\r\\n\\r\\n")
[[ "$out" == "HTTP/1.1 431 "* ]] || fail "oversized head got: $out"
out=$($RAW send "$PX_PORT" 'CONNECT example.org:443 HTTP/1.1\r\n\r\n')
[[ "$out" == "HTTP/1.1 405 "* ]] || fail "CONNECT got: $out"
# pipelined requests, a chunked body, HEAD (httpapp wrongly sends a body to HEAD: the
# proxy forwards none and does not reuse that backend connection): answered in order
out=$($RAW send "$PX_PORT" 'POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
[ "$(grep -c '^HTTP/1.1 200 OK' <<<"$out")" = 3 ] || fail "pipelined requests: $out"
[ "$(grep -c '^blue' <<<"$out")" = 2 ] || fail "HEAD must have no body: $out"
grep -q '^Connection: close' <<<"$out" || fail "last answer must say Connection: close"
[ "$(curl -s "http://127.0.0.1:$PX_PORT/")" = blue ] || fail "proxy stopped serving"
[ "$(curl -s -d 'x=1' "http://127.0.0.1:$PX_PORT/")" = blue ] || fail "POST with a body"
stop_proxy
