#!/usr/bin/env bash
# --mode reuseport after the master was SIGKILLed: its workers keep serving on the
# port they bound (the BPF program stays attached to their group), and a new
# `baton run` refuses to take them over with the documented error (exit 1) rather than
# starting a generation beside workers it cannot steer.
. "$(dirname "$0")/lib.sh"

master_start --mode reuseport --ready http:/ -- "$APP" --version v1
kill -KILL "$MASTER"
wait "$MASTER" 2>/dev/null
version_is v1 || fail "v1 stopped serving when its master was killed"
out=$("$BATON" run --mode reuseport --listen "127.0.0.1:$PORT" --control "$CTL" --ready http:/ \
    -- "$APP" --version v2 2>&1) && fail "a new master started beside the orphan: $out"
grep -qE "error: an earlier master \(pid $MASTER\) left 1 workers running; taking over after a killed master is not supported with --mode reuseport: stop them \(see '$T_DIR/ctl/baton.state'\) and start again" <<<"$out" ||
    fail "unexpected message: $out"
version_is v1 || fail "v1 stopped serving after the refused start"
MASTER=
