#!/usr/bin/env bash
# --mode reuseport after the master was SIGKILLed under --close load: its workers keep
# serving on the sockets they bound (the group keeps the killed master's BPF program
# and its steering); a new `baton run` with the same --control takes them over as
# orphans (no socket is taken back or bound by the master), leaves them to that
# program, starts its own generation beside them (readiness checks reach it alone),
# switches to it with its own program and drains them; then an upgrade. 0 failed requests throughout, and no connection
# made after the upgrade's switch is answered by the version it replaced.
RP_OWN_NETNS=1
. "$(dirname "$0")/lib.sh"

run_opts=(--mode reuseport --ready http:/ --workers 2 --drain-timeout 30s)
master_start "${run_opts[@]}" -- "$APP" --version v1
[ "$(rp_protection | cut -d: -f1)" = bpf ] || fail "status names '$(rp_protection)'"
orphans=$(worker_pids 1)
load_start kill "$URL" --connections 16 --close
kill -KILL "$MASTER"
wait "$MASTER" 2>/dev/null
load_wait_more kill 500 # the orphans go on answering without their master
version_is v1 || fail "the orphaned workers do not serve"

"$BATON" run --listen "127.0.0.1:$PORT" --control "$CTL" "${run_opts[@]}" \
    -- "$APP" --version v2 >>"$T_DIR/master2.log" 2>&1 &
MASTER=$!
track "$MASTER"
load_wait_version kill v2
gone() { for p in $orphans; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 60 gone || fail "the orphaned workers were not drained: $orphans"
log2=$T_DIR/master2.log
grep -q "left 2 workers running: taking them over" "$log2" || fail "no takeover in the log: $(cat "$log2")"
grep -q "generation 1: took over 2 workers (serving)" "$log2" || fail "the orphans were not adopted"
grep -q "recovered listening socket" "$log2" && fail "the new master took a worker's socket as its own"
grep -q "listening on" "$log2" && fail "the new master bound the address itself"
grep -q "generation 2: new connections go to its 2 sockets" "$log2" || fail "generation 2 was not steered to"
grep -q "generation 1: steered to by the program already attached to its sockets until the next switch" "$log2" ||
    fail "the new master did not leave the orphans to the killed master's steering"
load_wait_more kill 500

out=$(master_ctl upgrade --json -- "$APP" --version v3) || fail "upgrade after the takeover failed: $out"
load_wait_version kill v3
load_wait_more kill 500
load_stop kill
load_check kill
check_switch kill v2 "$(jq -r .switched_unix_ms <<<"$out")"
status_holds '[.generations[]|select(.state=="serving")]|length == 1' || fail "status: $(master_ctl status --json)"
[ "$(rp_protection | cut -d: -f1)" = bpf ] || fail "status names '$(rp_protection)' after the takeover"
master_stop
