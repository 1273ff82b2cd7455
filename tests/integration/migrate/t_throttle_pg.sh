#!/usr/bin/env bash
# The adaptive throttle on PostgreSQL: `baton migrate throttle` retunes a running backfill
# (its new duty cap shows in the backfill's log), and the backfill backs off when the
# probe query (a function that sleeps as long as a table says) gets slower than its
# target; the backfill still copies every row.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
pg_start
ROWS=40000
sql "$PG_URL" "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT);
INSERT INTO users SELECT g, 'name' || g FROM generate_series(1, $ROWS) g;
CREATE TABLE probe_delay (s DOUBLE PRECISION NOT NULL);
INSERT INTO probe_delay VALUES (0);
CREATE FUNCTION slow_probe() RETURNS int LANGUAGE plpgsql AS \$\$
BEGIN PERFORM pg_sleep((SELECT s FROM probe_delay)); RETURN 1; END \$\$" >/dev/null || fail "seed"
mkdir -p "$T_DIR/m"
printf 'rename_column users name full_name\n' >"$T_DIR/m/0001_rename.migration"
export BATON_DB=$PG_URL BATON_MIGRATIONS=$T_DIR/m
mlog="$T_DIR/migrate.log"
"$BATON" migrate expand --batch-size 100 --batch-max 100 --batch-sleep 20ms \
    --probe "SELECT slow_probe()" --probe-target 300ms 2>"$mlog" &
mig=$!
on_exit "kill -KILL $mig"
# wait_log PATTERN WHAT: waits (up to 60 s) for the backfill's log to show PATTERN
wait_log() {
    local i
    for i in $(seq 600); do
        grep -q "$1" "$mlog" && return 0
        kill -0 $mig 2>/dev/null || fail "the backfill ended before $2: $(tail -3 "$mlog")"
        sleep 0.1
    done
    fail "no $2 after 60 s: $(tail -3 "$mlog")"
}
wait_log "backfill step 1: copy" "backfill"
out=$("$BATON" migrate throttle --duty-percent 40 2>&1) || fail "throttle failed: $out"
printf '%s\n' "$out" | grep -x "duty-percent: 40" >/dev/null || fail "throttle printed: $out"
wait_log "throttle: duty cap 40%" "the new duty cap in the running backfill"
# the probe now sleeps 0.6 s, over its 300 ms target: a back-off must name it
sql "$PG_URL" "UPDATE probe_delay SET s = 0.6" >/dev/null
wait_log "backing off to duty .*probe latency over its target (probe [6-9][0-9][0-9]\.[0-9] ms" \
    "a back-off on the slow probe"
sql "$PG_URL" "UPDATE probe_delay SET s = 0" >/dev/null
"$BATON" migrate throttle --reset >/dev/null || fail "throttle --reset failed"
for i in $(seq 1800); do kill -0 $mig 2>/dev/null || break; sleep 0.1; done
kill -0 $mig 2>/dev/null && fail "the backfill still runs 3 minutes after the probe got fast again: $(tail -2 "$mlog")"
wait $mig || fail "the backfill failed: $(tail -3 "$mlog")"
[ "$(ledger_phase "$PG_URL" 0001_rename)" = backfilled ] || fail "not backfilled"
n=$(sql "$PG_URL" "SELECT count(*) FROM users WHERE full_name IS DISTINCT FROM name")
[ "$n" = 0 ] || fail "$n rows not copied"
grep -E "ALERT|ERROR" "$mlog" && fail "errors in the backfill's log"
log "a throttle change reached the running backfill; it backed off on a slow probe: $(grep -m1 "backing off" "$mlog" | sed 's/.*info: //')"
