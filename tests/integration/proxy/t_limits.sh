#!/usr/bin/env bash
# Limits: slowloris clients get 408 at the header timeout; clients that write without
# reading (tcp bytes, or pipelined http requests) cannot grow the proxy's memory past
# its buffers; --max-conns leaves further clients in the kernel's queue.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
# memory is measured on the release build (the sanitizer's quarantine would blur it)
PXBIN=${BATON_REL:-$BATON}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

start_app blue; BLUE=$APP_PORT
ECHO=$(free_port)
$RAW echo "$ECHO" & track $!
wait_for 5 port_open "$ECHO" || fail "echo server did not start"

log "slowloris: heads sent a byte at a time are cut at the header timeout"
start_proxy --mode http --header-timeout 800 --backend "b1=127.0.0.1:$BLUE"
$RAW slowloris "$PX_PORT" 40 2.5 >"$T_DIR/slowloris.out"
n408=$(grep -c '^HTTP/1.1 408' "$T_DIR/slowloris.out")
[ "$n408" = 40 ] || fail "expected 40 answers 408, got: $(sort "$T_DIR/slowloris.out" | uniq -c)"
grep -q "did not send a whole request head within 800 ms" "$T_DIR/proxy.log" || fail "no 408 log line"
[ "$(curl -s "http://127.0.0.1:$PX_PORT/")" = blue ] || fail "proxy stopped serving"
stop_proxy; rm -f "$PX_CTL"

for mode in tcp http; do
    log "$mode: 50 clients write without reading; memory stays bounded"
    backend="b1=127.0.0.1:$BLUE"
    [ $mode = tcp ] && backend="b1=127.0.0.1:$ECHO"
    BATON=$PXBIN start_proxy --mode $mode --relay copy --buffer-size 4096 --backend "$backend"
    before=$(rss_kb "$PX_PID")
    $RAW flood "$PX_PORT" 50 3 $mode >"$T_DIR/flood-$mode.out" &
    FLOOD=$!
    sleep 2.5
    during=$(rss_kb "$PX_PID")
    wait $FLOOD
    sent=$(cat "$T_DIR/flood-$mode.out")
    growth=$((during - before))
    log "$mode: clients pushed $((sent / 1024)) KB; proxy RSS $before KB -> $during KB"
    [ "$sent" -gt $((8 * 1024 * 1024)) ] || fail "$mode: the clients could not push enough to tell ($sent bytes)"
    # 50 connections x (buffers of 4 KB, heads of 8 KB, bookkeeping): far below what was pushed
    [ $growth -lt 8192 ] || fail "$mode: RSS grew by $growth KB while clients pushed $((sent / 1024)) KB"
    [ "$(curl -s "http://127.0.0.1:$PX_PORT/" --max-time 5 | head -c 4)" != "" ] || true
    BATON=$PXBIN stop_proxy; rm -f "$PX_CTL"
done

log "max-conns: connections beyond the limit wait in the kernel's queue"
start_proxy --mode http --max-conns 20 --backend "b1=127.0.0.1:$BLUE"
$RAW slowloris "$PX_PORT" 30 2 >/dev/null &
HOLD=$!
wait_for 5 grep -q "20 connections open (--max-conns); accepting paused" "$T_DIR/proxy.log" ||
    fail "no log line for the pause"
conns=$(ctl backend list --json | jq -r .connections)
[ "$conns" -le 20 ] || fail "$conns client connections open with --max-conns 20"
wait $HOLD
[ "$(curl -s --max-time 10 "http://127.0.0.1:$PX_PORT/")" = blue ] || fail "proxy did not resume accepting"
stop_proxy
