#!/usr/bin/env bash
# The lease's fencing token on SQLite: a runner frozen (SIGSTOP) past its lease is taken
# over by another runner, which finishes the work; when the frozen one wakes, its next
# transaction fails the fence and it exits with "lost the migration lease" without
# writing anything: every backfill batch still ran exactly once.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/lib.sh"
db="$T_DIR/app.db"
url="sqlite:$db"
rows=400
sqlite3 "$db" "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE batch_log (item_id INTEGER);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $rows) INSERT INTO items SELECT i, 'n' || i FROM s;" || fail "seed"
mkdir -p "$T_DIR/m"
cat >"$T_DIR/m/0001_copy.migration" <<'M'
add_column items flag INTEGER DEFAULT 0
[backfill items]
INSERT INTO batch_log (item_id) SELECT id FROM items WHERE id > :lo AND id <= :hi;
M
export BATON_DB=$url BATON_MIGRATIONS=$T_DIR/m

"$BATON" migrate expand --lease-ms 3000 --batch-size 10 --batch-max 10 --batch-sleep-ms 200 \
    2>"$T_DIR/runner-a.log" &
a=$!
track $a
wait_for 30 bash -c "[ \"\$(sqlite3 $db \"SELECT count(*) FROM batch_log\" 2>/dev/null)\" -ge 30 ]" ||
    fail "runner A never reached its second backfill"
# freeze A while it sleeps between batches (clock_nanosleep is syscall 230), not inside a
# transaction that holds SQLite's write lock
wait_for 10 bash -c "read -r nr _ </proc/$a/syscall && [ \"\$nr\" = 230 ]" || fail "runner A never slept"
kill -STOP $a
before=$(sqlite3 "$db" "SELECT count(*) FROM batch_log")
# status shows the backfill's progress and the frozen holder's lease
st=$("$BATON" migrate status)
[[ "$st" == *"0001_copy "*"backfilling"*"step 1/1: id $before of $rows"* ]] || fail "status progress: $st"
[[ "$st" == *"lease: held by "*":$a (token "* ]] || fail "status lease: $st"
[ "$("$BATON" migrate status --json | jq -r '.[0].backfill_pos')" = "$before" ] || fail "status --json position"
sleep 3.5
"$BATON" migrate expand --lease-ms 1000 --batch-size 10 --batch-max 10 2>"$T_DIR/runner-b.log" ||
    fail "runner B failed: $(tail -3 "$T_DIR/runner-b.log")"
kill -CONT $a
wait $a
rc=$?
[ $rc = 1 ] || fail "the frozen runner exited $rc after waking, want 1"
grep -q "lost the migration lease" "$T_DIR/runner-a.log" || fail "runner A: $(tail -2 "$T_DIR/runner-a.log")"
got=$(sqlite3 "$db" "SELECT count(*) || ' ' || count(DISTINCT item_id) FROM batch_log")
[ "$got" = "$rows $rows" ] || fail "batches (rows, distinct) = $got, want $rows each"
[ "$(ledger_phase "$url" 0001_copy)" = backfilled ] || fail "not backfilled"
log "runner A frozen after $before rows; B took over and finished; A woke and was fenced off"
