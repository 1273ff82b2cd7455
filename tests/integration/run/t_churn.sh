#!/usr/bin/env bash
# 100 upgrades and 10 re-execs in a row: afterwards the master holds as many descriptors
# and generations as before them (nothing kept per upgrade or per re-exec), only the
# current generation's worker is left running, and the last upgrade's timeline in
# `status` names its generations and has every moment, in order.
. "$(dirname "$0")/../../lib/master.sh"
master_start --drain-timeout 5 -- "$APP" --version v0
settled() { status_holds '(.generations | length == 1) and .operation == null'; }
fds() { ls "/proc/$MASTER/fd" | wc -l; }
workers() { pgrep -f "^$APP " | wc -l; }
master_ctl upgrade -- "$APP" --version w >/dev/null || fail "the warm-up upgrade failed"
wait_for 30 settled || fail "the warm-up upgrade did not settle: $(master_ctl status --json)"
fds0=$(fds)
reexecs=0
for i in $(seq 1 100); do
    if [ $((i % 10)) -eq 0 ]; then
        master_ctl reexec >/dev/null || fail "re-exec before upgrade $i failed"
        reexecs=$((reexecs + 1))
        wait_for 30 status_holds ".reexecs == $reexecs" || fail "re-exec $reexecs did not finish"
    fi
    master_ctl upgrade -- "$APP" --version "v$i" >/dev/null || fail "upgrade $i failed"
done
wait_for 30 settled || fail "the generations did not settle: $(master_ctl status --json)"
[ "$(version_now)" = v100 ] || fail "v100 does not serve: $(version_now)"
status_holds ".current_generation == 102 and .reexecs == 10 and .pid == $MASTER" ||
    fail "status after the churn: $(master_ctl status --json)"
[ "$(fds)" -eq "$fds0" ] || fail "the master holds $(fds) descriptors, $fds0 before: $(ls -l "/proc/$MASTER/fd")"
[ "$(workers)" -eq 1 ] || fail "$(workers) app processes left, 1 expected: $(pgrep -af "^$APP ")"
status_holds '.last_upgrade | .kind == "upgrade" and .outcome == "switched" and
    .generation == 102 and .previous_generation == 101' ||
    fail "last_upgrade: $(master_ctl status --json | jq -c .last_upgrade)"
status_holds '.last_upgrade.monotonic_us as $t |
    ["requested", "started", "spawn", "exec", "ready", "switch", "stopped_accepting"] |
    map($t[.]) | all(. != null) and . == sort' ||
    fail "the timeline is incomplete or out of order: $(master_ctl status --json | jq -c .last_upgrade)"
status_holds '.last_upgrade.phases_ms | [.queue, .prepare, .spawn, .app_start, .promote, .stop] |
    all(. != null and . >= 0)' ||
    fail "the phases are incomplete: $(master_ctl status --json | jq -c .last_upgrade)"
grep -q "generation 102 switched in .* ms: queue .*, spawn .*, app start .*, promote .*, stop .*; baton's own .* ms" \
    "$T_DIR/master.log" || fail "the timeline of generation 102 is not in the log"
master_stop
