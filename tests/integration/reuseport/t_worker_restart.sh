#!/usr/bin/env bash
# --mode reuseport with the BPF protection: a serving worker that crashes is restarted,
# and its new socket joins the steering (the master takes it from the new worker and
# steers to both workers' sockets again), so the slot serves again; then an upgrade
# under --close load fails 0 requests.
. "$(dirname "$0")/lib.sh"

steered() { [ "$(grep -c "generation 1: new connections go to its 2 sockets" "$T_DIR/master.log")" -ge "$1" ]; }
master_start --mode reuseport --workers 2 --ready http:/ --drain-timeout 30s -- "$APP" --version v1
wait_for 30 steered 1 || fail "generation 1 was not steered to its 2 sockets"
victim=$(worker_pids 1 | head -1)
kill -KILL "$victim"
wait_for 60 status_holds '.generations[0].restarts == 1 and ([.generations[0].workers[]|select(.ready)]|length) == 2' ||
    fail "the worker was not restarted: $(master_ctl status --json | jq -c .generations)"
wait_for 30 steered 2 || fail "the restarted worker's socket was not steered to: $(grep 'new connections' "$T_DIR/master.log")"
worker_pids 1 | grep -x "$victim" >/dev/null && fail "the killed worker $victim is still listed"
load_start load1 "$URL" --connections 8 --close
load_wait_more load1 500
out=$(master_ctl upgrade --json -- "$APP" --version v2 2>&1) || fail "upgrade failed: $out"
load_wait_version load1 v2
load_wait_more load1 500
load_stop load1
load_check load1
master_stop
