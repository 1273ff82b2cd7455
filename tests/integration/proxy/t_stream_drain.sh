#!/usr/bin/env bash
# A long-lived connection (httpapp GET /stream) stays on blue through a switch and
# completes; blue is reported 'draining' while it runs and 'drained' (0 connections)
# only after it ends. With --drain-timeout shorter than the stream, the stream is cut
# at the timeout. Both in tcp and http mode.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app blue;  BLUE=$APP_PORT
start_app green; GREEN=$APP_PORT

for mode in tcp http; do
    log "mode $mode: the stream completes on blue"
    start_proxy --mode $mode --backend "blue/b1=127.0.0.1:$BLUE" --backend "green/g1=127.0.0.1:$GREEN"
    curl -sS --max-time 20 "http://127.0.0.1:$PX_PORT/stream?ms=2500" >"$T_DIR/stream-$mode.out" \
        2>"$T_DIR/curl-$mode.log" &
    CURL=$!
    wait_for 5 backend_conns_are b1 1 || fail "$mode: stream not on blue"
    ctl switch green >/dev/null || fail "$mode: switch failed"
    [ "$(backend_field b1 state)" = draining ] || fail "$mode: blue should be draining while the stream runs"
    [ "$(backend_field b1 connections)" = 1 ] || fail "$mode: the stream left blue"
    [ "$(curl -s "http://127.0.0.1:$PX_PORT/")" = green ] || fail "$mode: new request not on green"
    wait $CURL || fail "$mode: the stream failed: $(cat "$T_DIR/curl-$mode.log")"
    lines=$(grep -c '^blue$' "$T_DIR/stream-$mode.out")
    [ "$lines" -ge 20 ] || fail "$mode: stream incomplete ($lines chunks from blue)"
    grep -qv '^blue$' "$T_DIR/stream-$mode.out" && fail "$mode: stream has other content"
    wait_for 5 backend_is b1 drained || fail "$mode: blue not drained after the stream ended"
    [ "$(backend_field b1 connections)" = 0 ] || fail "$mode: drained blue has connections"

    log "mode $mode: --drain-timeout cuts a stream longer than it"
    curl -sS --max-time 20 "http://127.0.0.1:$PX_PORT/stream?ms=10000" >"$T_DIR/long-$mode.out" \
        2>/dev/null &
    CURL=$!
    wait_for 5 backend_conns_are g1 1 || fail "$mode: stream not on green"
    t0=$SECONDS
    ctl switch blue --drain-timeout 1 >/dev/null || fail "$mode: switch back failed"
    rc=0
    wait $CURL || rc=$?
    [ $rc -ne 0 ] || fail "$mode: a stream cut by the drain timeout must not look complete"
    [ $((SECONDS - t0)) -lt 8 ] || fail "$mode: stream not cut by the drain timeout"
    grep -q "drain timeout of backend 'g1' cut 1 connection" "$T_DIR/proxy.log" ||
        fail "$mode: no log line for the cut"
    wait_for 5 backend_is g1 drained || fail "$mode: green not drained after the cut"
    stop_proxy
    rm -f "$PX_CTL"
    mv "$T_DIR/proxy.log" "$T_DIR/proxy-$mode.log"
done
