#!/usr/bin/env bash
# `baton proxy --workers 2`, tcp and http mode: the kernel spreads clients over both
# workers; `backend drain` and `baton switch` through the one control socket reach
# every worker (no later connection or request reaches the drained backend or the old
# pool, whichever worker takes it); 0 failed requests under load during the switch;
# the merged `backend list` reports blue drained; SIGTERM stops every worker and the
# parent exits 0; a worker that dies takes the proxy down with a message naming it.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"

start_app blue;  BLUE=$APP_PORT
start_app blue2; BLUE2=$APP_PORT
start_app green; GREEN=$APP_PORT

workers_of() { ps -o pid= --ppid "$1" | tr -d ' '; }
backend_total_above() { [ "$(backend_field "$1" total)" -gt "$2" ]; }
versions_of() { jq -r '.versions | to_entries | map("\(.key)=\(.value.count)") | join(" ")' "$1"; }

for mode in tcp http; do
    log "mode $mode"
    start_proxy --mode $mode --workers 2 --health none --backend "blue/b1=127.0.0.1:$BLUE" \
        --backend "blue/b2=127.0.0.1:$BLUE2" --backend "green/g1=127.0.0.1:$GREEN"
    [ "$(workers_of "$PX_PID" | wc -l)" = 2 ] || fail "$mode: not 2 worker processes"
    [ "$(ctl backend list --json | jq -r .workers)" = 2 ] || fail "$mode: list does not say 2 workers"

    # 64 new connections: both workers take some (2^-63 odds that one takes all)
    "$BATON" load "http://127.0.0.1:$PX_PORT/" --close --requests 64 --connections 4 --json \
        >"$T_DIR/spread-$mode.json" 2>>"$T_DIR/load.log" || fail "$mode: requests failed"
    accepted=$(ctl backend list --json | jq -r '[.per_worker[].accepted] | join(" ")')
    log "$mode: clients accepted per worker: $accepted"
    for n in $accepted; do [ "$n" -gt 0 ] || fail "$mode: a worker accepted no client ($accepted)"; done

    # a drain reaches both workers: no new connection reaches b1 afterwards
    ctl backend drain b1 >/dev/null || fail "$mode: drain failed"
    wait_for 5 backend_is b1 drained || fail "$mode: b1 not drained: $(ctl backend list --json)"
    "$BATON" load "http://127.0.0.1:$PX_PORT/" --close --requests 64 --connections 4 --json \
        >"$T_DIR/drain-$mode.json" 2>>"$T_DIR/load.log" || fail "$mode: requests failed after drain"
    [ "$(jq -r '.versions.blue.count // 0' "$T_DIR/drain-$mode.json")" = 0 ] ||
        fail "$mode: a worker sent clients to drained b1: $(versions_of "$T_DIR/drain-$mode.json")"
    ctl backend enable b1 >/dev/null || fail "$mode: enable failed"

    # a switch under load (keep-alive in http mode, a connection per request in tcp
    # mode) reaches both workers: 0 failed, nothing sent after it reaches blue
    close=""; [ $mode = tcp ] && close=--close
    "$BATON" load "http://127.0.0.1:$PX_PORT/" $close --until-file "$T_DIR/done-$mode" \
        --max-duration 60s --connections 8 --json >"$T_DIR/load-$mode.json" 2>>"$T_DIR/load.log" &
    LOAD=$!
    wait_for 10 backend_total_above b2 200 || fail "$mode: load did not reach blue"
    ctl switch green --json >"$T_DIR/switch-$mode.json" || fail "$mode: switch failed"
    wait_for 20 backend_total_above g1 400 || fail "$mode: load did not reach green"
    touch "$T_DIR/done-$mode"
    wait $LOAD
    load_ok "$T_DIR/load-$mode.json"
    start=$(jq -r .start_unix_ms "$T_DIR/load-$mode.json")
    switched=$(jq -r .switched_unix_ms "$T_DIR/switch-$mode.json")
    field=last_sent_ms; [ $mode = tcp ] && field=last_connected_ms
    last=0
    for v in blue blue2; do
        t=$(jq -r ".versions.$v.$field // 0" "$T_DIR/load-$mode.json")
        [ "$t" -gt "$last" ] && last=$t
    done
    log "$mode: $(versions_of "$T_DIR/load-$mode.json"); blue's last at +$last ms," \
        "switch at +$((switched - start)) ms"
    [ $((start + last)) -le $((switched + 2)) ] ||
        fail "$mode: blue answered what was sent $((start + last - switched)) ms after the switch"
    wait_for 10 backend_is b1 drained || fail "$mode: b1 not drained: $(ctl backend list --json)"
    wait_for 10 backend_is b2 drained || fail "$mode: b2 not drained: $(ctl backend list --json)"

    pids=$(workers_of "$PX_PID")
    stop_proxy
    for p in $pids; do kill -0 "$p" 2>/dev/null && fail "$mode: worker $p still runs after stop"; done
    rm -f "$PX_CTL"
done

log "a worker that dies stops the proxy"
start_proxy --mode http --workers 2 --health none --backend "blue/b1=127.0.0.1:$BLUE"
victim=$(workers_of "$PX_PID" | tail -1)
kill -KILL "$victim"
rc=0
wait "$PX_PID" || rc=$?
[ $rc = 1 ] || fail "proxy exited with status $rc after a worker was killed (expected 1)"
grep -q "(pid $victim) was killed by signal 9; stopping the other workers" "$T_DIR/proxy.log" ||
    fail "no log line naming the dead worker"
