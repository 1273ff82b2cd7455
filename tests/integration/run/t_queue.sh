#!/usr/bin/env bash
# Upgrades requested while one runs are queued, not interleaved: two concurrent
# `upgrade` calls both succeed, one generation after the other, in request order.
# Generation 2 is held not ready (its exec: probe waits for a file the test creates)
# until the second request is seen queued, so the overlap does not depend on timing.
# `status --wait-idle` answers only once both have ended (and fails, naming what runs,
# when its wait is shorter than the held upgrade).
. "$(dirname "$0")/../../lib/master.sh"
master_start --workers 2 --ready "exec:[ \"\$BATON_GENERATION\" != 2 ] || [ -e $T_DIR/go ]" \
    --drain-timeout 2 -- "$APP" --version v1
master_ctl upgrade --json -- "$APP" --version v2 >"$T_DIR/up2.json" &
first=$!
wait_for 60 grep -q "generation 2 starting" "$T_DIR/master.log" || fail "first upgrade did not start"
master_ctl upgrade --json -- "$APP" --version v3 >"$T_DIR/up3.json" &
second=$!
wait_for 60 grep -q "an operation is running; the new request waits its turn" "$T_DIR/master.log" ||
    fail "the second upgrade was not queued"
out=$(master_ctl status --wait-idle 200ms 2>&1) && fail "status --wait-idle 200ms did not wait for the held upgrade: $out"
[[ $out == *"still busy after --wait-idle 200 ms (upgrade running, 1 queued)"* ]] ||
    fail "status --wait-idle 200ms: unexpected message: $out"
master_ctl status --wait-idle 60s --json >"$T_DIR/idle.json" &
idle=$!
sleep 0.3 # a scenario's own pacing: the waiting status polls a few times first
kill -0 "$idle" 2>/dev/null || fail "status --wait-idle returned while the upgrade was held: $(cat "$T_DIR/idle.json")"
touch "$T_DIR/go"
wait "$first" || fail "first upgrade failed: $(cat "$T_DIR/up2.json")"
wait "$second" || fail "second upgrade failed: $(cat "$T_DIR/up3.json")"
[ "$(jget "$T_DIR/up2.json" .generation)" = 2 ] || fail "first upgrade: $(cat "$T_DIR/up2.json")"
[ "$(jget "$T_DIR/up3.json" .generation)" = 3 ] || fail "second upgrade: $(cat "$T_DIR/up3.json")"
[ "$(jget "$T_DIR/up3.json" .previous_generation)" = 2 ] || fail "second upgrade did not replace generation 2"
[ "$(jget "$T_DIR/up2.json" .switched_unix_ms)" -le "$(jget "$T_DIR/up3.json" .switched_unix_ms)" ] ||
    fail "the upgrades switched out of order"
# generation 3 must not have started before generation 2 served
line_serves2=$(grep -n "generation 2 serves" "$T_DIR/master.log" | head -1 | cut -d: -f1)
line_starts3=$(grep -n "generation 3 starting" "$T_DIR/master.log" | head -1 | cut -d: -f1)
[ "$line_serves2" -lt "$line_starts3" ] || fail "generation 3 started before generation 2 served"
[ "$(version_now)" = v3 ] || fail "v3 does not serve"
wait "$idle" || fail "status --wait-idle 60s failed"
jq -e '.operation == null and .queued == 0 and ([.generations[]|select(.current)|.id] == [3])' \
    "$T_DIR/idle.json" >/dev/null || fail "status --wait-idle did not wait for both upgrades: $(cat "$T_DIR/idle.json")"
