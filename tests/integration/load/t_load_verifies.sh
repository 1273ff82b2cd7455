#!/usr/bin/env bash
# baton load counts every answer and classifies failures: a healthy app gives 0 failed,
# a closed port gives connect failures and exit 1, a killed app gives failures too.
. "$(dirname "$0")/../../lib/common.sh"

port=$(free_port)
PORT=$port "$EXAMPLES/httpapp" --version v1 2>"$T_DIR/app.log" &
app=$!; track $app
wait_for 10 port_open "$port" || fail "app did not start"

"$BATON" load "http://127.0.0.1:$port/" --duration 1 --connections 4 --json >"$T_DIR/ok.json" 2>"$T_DIR/load.log" \
    || fail "load against a healthy app failed: $(cat "$T_DIR/ok.json")"
check "requests counted" [ "$(jget "$T_DIR/ok.json" .requests)" -gt 100 ]
check "no failures" [ "$(jget "$T_DIR/ok.json" .failed)" -eq 0 ]
check "version seen" [ "$(jget "$T_DIR/ok.json" '.versions.v1.count')" -eq "$(jget "$T_DIR/ok.json" .ok)" ]
check "timeline sums to requests" [ "$(jget "$T_DIR/ok.json" '[.timeline[].requests] | add')" -eq "$(jget "$T_DIR/ok.json" .requests)" ]

"$BATON" load "http://127.0.0.1:$port/" --requests 500 --close --connections 2 --json >"$T_DIR/close.json" 2>>"$T_DIR/load.log" \
    || fail "close load failed"
check "request cap honoured" [ "$(jget "$T_DIR/close.json" .requests)" -eq 500 ]

dead=$(free_port)
if "$BATON" load "http://127.0.0.1:$dead/" --duration 0.5 --json >"$T_DIR/dead.json" 2>>"$T_DIR/load.log"; then
    fail "load against a closed port exited 0"
fi
check "connect failures counted" [ "$(jget "$T_DIR/dead.json" .failures.connect)" -gt 0 ]
check "all failed" [ "$(jget "$T_DIR/dead.json" .ok)" -eq 0 ]

( sleep 0.5; kill -9 $app ) &
if "$BATON" load "http://127.0.0.1:$port/" --duration 1.5 --json >"$T_DIR/kill.json" 2>>"$T_DIR/load.log"; then
    fail "load across a killed app exited 0"
fi
check "kill seen as failures" [ "$(jget "$T_DIR/kill.json" .failed)" -gt 0 ]
check "answers before the kill" [ "$(jget "$T_DIR/kill.json" .ok)" -gt 0 ]

"$BATON" load --help | grep -q -- '--close' || fail "--help lacks --close"
"$BATON" load ftp://x 2>"$T_DIR/usage.out"; rc=$?
[ $rc -eq 1 ] || fail "bad URL: exit $rc, want 1"
grep -q "only http://" "$T_DIR/usage.out" || fail "bad URL message: $(cat "$T_DIR/usage.out")"
log "ok"
