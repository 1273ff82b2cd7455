#!/usr/bin/env bash
# PostgreSQL DDL: a step waits at most lock_timeout behind an app transaction, then
# retries with jittered backoff, and succeeds once the lock is gone; `abort` of a
# rename_column + add_index (CONCURRENTLY) + add_constraint expansion leaves the table
# exactly as it was.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
pg_start
sql "$PG_URL" "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items SELECT g, 'n' FROM generate_series(1, 100) g" >/dev/null || fail "seed"
mkdir -p "$T_DIR/m"
printf 'add_column items late TEXT\n' >"$T_DIR/m/0001_late.migration"
export BATON_DB=$PG_URL BATON_MIGRATIONS=$T_DIR/m

# an app transaction that holds a lock on items for 3 seconds
psql -qX -c "BEGIN; LOCK TABLE items IN ACCESS SHARE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null 2>&1 &
holder=$!
track $holder
wait_for 10 bash -c "[ \"\$(psql -qAtX -c \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'items' AND l.granted AND l.pid <> pg_backend_pid()\")\" -ge 1 ]" ||
    fail "the app transaction never took its lock"
start=$SECONDS
"$BATON" migrate expand --lock-timeout-ms 200 2>"$T_DIR/migrate.log" || fail "expand failed: $(tail -3 "$T_DIR/migrate.log")"
grep -q "canceling statement due to lock timeout; retrying" "$T_DIR/migrate.log" || fail "no lock-timeout retry logged: $(tail -5 "$T_DIR/migrate.log")"
wait $holder
[ "$(sql "$PG_URL" "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'late'")" = 1 ] || fail "column not added"
[ "$(ledger_phase "$PG_URL" 0001_late)" = backfilled ] || fail "ledger not backfilled"
log "DDL retried after lock timeouts ($(grep -c retrying "$T_DIR/migrate.log") retries) and succeeded after $((SECONDS - start)) s"

# abort: the schema is back exactly as before the expansion
cat >"$T_DIR/m/0002_rename.migration" <<'M'
rename_column items name title
add_index items items_title title
add_constraint items items_id_pos CHECK (id > 0)
M
describe() { psql -qX -c '\d items'; psql -qAtX -c "SELECT proname FROM pg_proc WHERE proname LIKE 'baton%'"; }
before=$(describe)
"$BATON" migrate expand 2>>"$T_DIR/migrate.log" || fail "expand of 0002 failed: $(tail -3 "$T_DIR/migrate.log")"
[[ "$(describe)" == *items_title* ]] || fail "index not created"
[ "$(sql "$PG_URL" "SELECT count(*) FROM items WHERE title IS DISTINCT FROM name")" = 0 ] || fail "title not backfilled"
"$BATON" migrate abort 0002_rename 2>>"$T_DIR/migrate.log" || fail "abort failed: $(tail -3 "$T_DIR/migrate.log")"
[ "$(describe)" = "$before" ] || fail "abort left changes: $(diff <(echo "$before") <(describe))"
[ "$(ledger_phase "$PG_URL" 0002_rename)" = aborted ] || fail "0002 not aborted"
log "abort restored the table exactly"
