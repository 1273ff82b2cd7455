#!/usr/bin/env bash
# baton load counts every answer and classifies failures: a healthy app gives 0 failed,
# a closed port gives connect failures and exit 1, a killed app gives failures too.
# A run ends when its scenario says so, never by the clock alone: at a request count,
# when --until-file's file appears (capped by --max-duration, which fails the run), or
# on SIGINT with the report; --live streams the timeline as it goes.
. "$(dirname "$0")/../../lib/load.sh"

port=$(free_port)
PORT=$port "$EXAMPLES/httpapp" --version v1 2>"$T_DIR/app.log" &
app=$!; track $app
wait_for 10 port_open "$port" || fail "app did not start"
url=http://127.0.0.1:$port/

"$BATON" load "$url" --requests 2000 --connections 4 --json >"$T_DIR/ok.json" 2>"$T_DIR/load.log" \
    || fail "load against a healthy app failed: $(cat "$T_DIR/ok.json")"
check "request cap ends the run" [ "$(jget "$T_DIR/ok.json" .ended)" = requests ]
check "requests counted" [ "$(jget "$T_DIR/ok.json" .requests)" -eq 2000 ]
check "no failures" [ "$(jget "$T_DIR/ok.json" .failed)" -eq 0 ]
check "version seen" [ "$(jget "$T_DIR/ok.json" '.versions.v1.count')" -eq "$(jget "$T_DIR/ok.json" .ok)" ]
check "timeline sums to requests" [ "$(jget "$T_DIR/ok.json" '[.timeline[].requests] | add')" -eq "$(jget "$T_DIR/ok.json" .requests)" ]

"$BATON" load "$url" --requests 500 --close --connections 2 --json >"$T_DIR/close.json" 2>>"$T_DIR/load.log" \
    || fail "close load failed"
check "request cap honoured" [ "$(jget "$T_DIR/close.json" .requests)" -eq 500 ]

# --until-file: the run lasts until the file appears; --live's lines are the timeline.
load_start until "$url" --connections 2
load_wait_more until 500
load_stop until
check "until-file ends the run" [ "$(jget "$T_DIR/until.json" .ended)" = until-file ]
load_check until
jq -s -e 'map(.t_ms) == [range(0; length) | . * 100]' <(grep '^{' "$T_DIR/until.live") >/dev/null ||
    fail "live lines are not one per 100 ms: $(head -3 "$T_DIR/until.live")"
check "live lines sum to the report" [ "$(load_answered until)" -eq "$(jget "$T_DIR/until.json" .ok)" ]
check "live lines are the timeline" [ "$(jq -c -s . <(grep '^{' "$T_DIR/until.live"))" = "$(jq -c .timeline "$T_DIR/until.json")" ]

# The cap: the file never appears; the run ends at --max-duration and fails.
"$BATON" load "$url" --until-file "$T_DIR/never" --max-duration 300ms --json 2>"$T_DIR/cap.err" >"$T_DIR/cap.json"
rc=$?
[ $rc -eq 1 ] || fail "a run that reached --max-duration exited $rc, want 1"
check "cap named" [ "$(jget "$T_DIR/cap.json" .ended)" = max-duration ]
grep -qx "baton load: '$T_DIR/never' did not appear within --max-duration 0.3s" "$T_DIR/cap.err" ||
    fail "cap message: $(cat "$T_DIR/cap.err")"

# SIGINT ends a long run early, with its report (and --duration takes a unit).
"$BATON" load "$url" --duration 10m --live --json >"$T_DIR/int.json" 2>"$T_DIR/int.live" &
pid=$!; track $pid
wait_for 60 load_answered_at_least int 100 || fail "the 10m load was not answered"
kill -INT $pid
wait $pid || fail "a load ended by SIGINT without failures exited non-zero"
check "signal named" [ "$(jget "$T_DIR/int.json" .ended)" = signal ]
check "signal report counts" [ "$(jget "$T_DIR/int.json" .ok)" -ge 100 ]

dead=$(free_port)
if "$BATON" load "http://127.0.0.1:$dead/" --requests 50 --json >"$T_DIR/dead.json" 2>>"$T_DIR/load.log"; then
    fail "load against a closed port exited 0"
fi
check "connect failures counted" [ "$(jget "$T_DIR/dead.json" .failures.connect)" -gt 0 ]
check "all failed" [ "$(jget "$T_DIR/dead.json" .ok)" -eq 0 ]
check "the failures' samples name the refusal" [ "$(jq -c '.failure_samples[0] | [.kind, .errno, .sent]' "$T_DIR/dead.json")" = '["connect","ECONNREFUSED",0]' ]
check "at most 16 samples" [ "$(jq '.failure_samples | length' "$T_DIR/dead.json")" -eq 16 ]

# The app is killed under load: failures are counted, and the answers before the kill.
load_start kill "$url" --connections 8
load_wait_more kill 100
kill -9 $app
failed_seen() { grep -q '"failures":[1-9]' "$T_DIR/kill.live"; }
wait_for 60 failed_seen || fail "no failure seen after the app was killed"
load_stop kill
check "kill seen as failures" [ "$(jget "$T_DIR/kill.json" .failed)" -gt 0 ]
check "a sample per failure, up to 16" [ "$(jq '.failure_samples | length' "$T_DIR/kill.json")" -eq "$(jq '[.failed, 16] | min' "$T_DIR/kill.json")" ]
check "answers before the kill" [ "$(jget "$T_DIR/kill.json" .ok)" -gt 0 ]

help=$("$BATON" load --help)
grep -q -- '--close' <<<"$help" || fail "--help lacks --close"
grep -q -- '--until-file PATH' <<<"$help" || fail "--help lacks --until-file"
"$BATON" load ftp://x 2>"$T_DIR/usage.out"; rc=$?
[ $rc -eq 1 ] || fail "bad URL: exit $rc, want 1"
grep -q "only http://" "$T_DIR/usage.out" || fail "bad URL message: $(cat "$T_DIR/usage.out")"
usage_error() { # usage_error MESSAGE LOAD-ARGS...: exit 2 and MESSAGE on stderr's first line
    local msg=$1 out rc
    shift
    out=$("$BATON" load "$@" 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "baton load $*: exit $rc, want 2"
    [ "$(head -1 <<<"$out")" = "$msg" ] || fail "baton load $*: $out"
}
usage_error "baton load: invalid --duration: '1x' is not a duration (a number with a unit: 250ms, 2s, 1.5m, 1h)" "$url" --duration 1x
usage_error "baton load: invalid --max-duration '0ms': expected 100ms..24h" "$url" --until-file x --max-duration 0ms
usage_error "baton load: --duration and --until-file exclude each other" "$url" --duration 1s --until-file x
usage_error "baton load: --max-duration caps an --until-file run; use --duration alone" "$url" --max-duration 1s
log "ok"
