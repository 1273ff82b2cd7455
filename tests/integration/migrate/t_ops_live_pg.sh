#!/usr/bin/env bash
# The operations that replace what the linter refuses (add_primary_key, add_unique,
# add_foreign_key, set_not_null, reindex, drop_index, a no-transaction section,
# rename_table), each expanded and contracted on PostgreSQL while an app (its own role)
# reads and writes the table: the app sees 0 errors, no row is lost, and a probe
# transaction on the table under a 1 s lock_timeout is never blocked that long (baton's
# own lock_timeout is 200 ms). A control at the end shows the probe does catch a lock held
# too long, and an index build interrupted by a lock timeout is dropped before the retry.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
pg_start
rows=${OPS_ROWS:-200000}
app_url="postgres://app@127.0.0.1:$PGPORT/postgres"
sql "$PG_URL" "CREATE ROLE app LOGIN;
CREATE TABLE orgs (id bigint PRIMARY KEY);
CREATE TABLE users (id bigint NOT NULL, name text, email text, org_id bigint, code text DEFAULT 'c');
INSERT INTO orgs SELECT g FROM generate_series(1, 100) g;
INSERT INTO users SELECT g, 'n' || g, 'u' || g || '@example.com', g % 100 + 1, 'c' FROM generate_series(1, $rows) g;
CREATE INDEX users_name_old ON users (name);
GRANT SELECT, INSERT, UPDATE, DELETE ON users, orgs TO app" >/dev/null || fail "seed"

m="$T_DIR/m"
mkdir -p "$m"
printf 'add_primary_key users users_pkey id\n' >"$m/0001_pk.migration"
printf 'add_unique users users_email_key email\n' >"$m/0002_unique.migration"
printf 'add_foreign_key users users_org_fk (org_id) REFERENCES orgs (id)\n' >"$m/0003_fk.migration"
printf 'set_not_null users code\n' >"$m/0004_not_null.migration"
printf 'reindex users users_name_old\n' >"$m/0005_reindex.migration"
printf 'drop_index users users_name_old\n' >"$m/0006_drop_index.migration"
cat >"$m/0007_no_tx.migration" <<'M'
[expand no-transaction]
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_org ON users (org_id);
[contract no-transaction]
DROP INDEX CONCURRENTLY IF EXISTS users_org;
[abort no-transaction]
DROP INDEX CONCURRENTLY IF EXISTS users_org;
M
printf 'rename_table users people\n' >"$m/0008_rename.migration"
export BATON_DB=$PG_URL BATON_MIGRATIONS=$m
"$BATON" migrate lint --db "$PG_URL" "$m"/*.migration >"$T_DIR/lint.out" ||
    fail "the operations must lint clean: $(cat "$T_DIR/lint.out")"

build_writer
build_probe
# the old app version: inserts, updates and reads users (the last 10 seeded rows are the probe's)
WRITER_READS=1 "$T_DIR/writer" "$app_url" name 900 1000000 $((rows - 10)) 2000 \
    >"$T_DIR/old.out" 2>"$T_DIR/old.err" &
old=$!
track $old

# The probe covers the whole migration: it has finished a transaction before the
# migration starts, and it is still running (its cap is 300 s) when the migration ends.
probe_start() {
    "$T_DIR/probe" "$PG_URL" "$1" $((rows - 9)) 300 1000 >"$T_DIR/probe-$2.out" 2>"$T_DIR/probe-$2.err" &
    probe=$!
    track $probe
    wait_for 60 grep -q "^probe started" "$T_DIR/probe-$2.out" ||
        fail "$2: the probe did not start: $(head -3 "$T_DIR/probe-$2.err")"
}
probe_check() {
    kill -0 $probe 2>/dev/null || fail "$1: the probe ended before the migration did: $(cat "$T_DIR/probe-$1.out" "$T_DIR/probe-$1.err")"
    kill -TERM $probe
    wait $probe
    local f="$T_DIR/probe-$1.out"
    cat "$f" >&2
    [ "$(probe_result "$f" lock_timeouts)" = 0 ] ||
        fail "$1: a probe transaction was blocked longer than its lock_timeout: $(head -3 "$T_DIR/probe-$1.err")"
    [ "$(probe_result "$f" errors)" = 0 ] || fail "$1: the probe failed: $(head -3 "$T_DIR/probe-$1.err")"
}
# migrate ID VERB: one phase of one migration, with a short lock timeout
migrate() {
    "$BATON" migrate "$2" --to "$1" --lock-timeout-ms 200 2>>"$T_DIR/migrate.log" ||
        fail "$1: $2 failed: $(tail -3 "$T_DIR/migrate.log")"
}
q() { sql "$PG_URL" "$1"; }

# expand_past_snapshot ID: expands ID while a transaction holds an old snapshot, which a
# CONCURRENTLY build must wait for: the build times out after baton's lock_timeout and
# leaves an invalid index; once baton has retried, the snapshot is let go, and the retry
# that succeeds must first have dropped the invalid leftover.
expand_past_snapshot() {
    psql -qX -c "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM orgs; SELECT pg_sleep(120); COMMIT;" >/dev/null 2>&1 &
    track $!
    wait_for 30 bash -c "[ \"\$(psql -qAtX -c \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND backend_xmin IS NOT NULL AND pid <> pg_backend_pid()\")\" -ge 1 ]" ||
        fail "$1: the snapshot holder did not start"
    local before
    before=$(grep -c "lock timeout; retrying" "$T_DIR/migrate.log")
    "$BATON" migrate expand --to "$1" --lock-timeout-ms 200 2>>"$T_DIR/migrate.log" &
    local mig=$!
    track $mig
    wait_for 120 bash -c "[ \$(grep -c 'lock timeout; retrying' '$T_DIR/migrate.log') -gt $before ]" ||
        fail "$1: the index build never waited for the old snapshot: $(tail -3 "$T_DIR/migrate.log")"
    psql -qAtX -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()" >/dev/null
    wait $mig || fail "$1: expand failed: $(tail -3 "$T_DIR/migrate.log")"
}

for id in 0001_pk 0002_unique 0003_fk 0004_not_null 0005_reindex 0006_drop_index 0007_no_tx; do
    probe_start users "$id"
    case $id in
    0002_unique | 0005_reindex) expand_past_snapshot "$id" ;;
    *) migrate "$id" expand ;;
    esac
    migrate "$id" contract
    probe_check "$id"
    [ "$(ledger_phase "$PG_URL" "$id")" = contracted ] || fail "$id: not contracted"
done
[ "$(q "SELECT contype FROM pg_constraint WHERE conname = 'users_pkey'")" = p ] || fail "no primary key"
[ "$(q "SELECT contype FROM pg_constraint WHERE conname = 'users_email_key'")" = u ] || fail "no unique constraint"
[ "$(q "SELECT convalidated FROM pg_constraint WHERE conname = 'users_org_fk'")" = t ] || fail "foreign key not validated"
[ "$(q "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'code'")" = t ] || fail "code is not NOT NULL"
[ "$(q "SELECT count(*) FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype = 'c'")" = 0 ] ||
    fail "a helper check constraint was left: $(q "SELECT conname FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype = 'c'")"
[ "$(q "SELECT count(*) FROM pg_class WHERE relname IN ('users_name_old', 'users_org')")" = 0 ] || fail "an index was left"
[ "$(q "SELECT count(*) FROM pg_index WHERE NOT indisvalid")" = 0 ] || fail "an invalid index was left"
grep -q "rebuild index users_name_old" "$T_DIR/migrate.log" || fail "reindex did not run"
grep -q "first removing what a killed run left behind: DROP INDEX CONCURRENTLY IF EXISTS users_email_key" "$T_DIR/migrate.log" ||
    fail "add_unique's interrupted build was not dropped before the retry: $(grep -i 'retry\|removing' "$T_DIR/migrate.log" | head -3)"
grep -q "first removing what a killed run left behind: DROP INDEX CONCURRENTLY IF EXISTS users_name_old_ccnew" "$T_DIR/migrate.log" ||
    fail "reindex's interrupted copy was not dropped before the retry: $(grep -i 'retry\|removing' "$T_DIR/migrate.log" | head -3)"

# rename_table: the old app keeps writing users (now a view), a new app writes people
probe_start users 0008-expand
migrate 0008_rename expand
probe_check 0008-expand
[ "$(q "SELECT relkind FROM pg_class WHERE relname = 'users'")" = v ] || fail "users is not a view"
rename_new_app "$app_url" 900 $((rows - 10))
wait_for 60 people_at_least "id >= 1000000 AND id < 2000000 AND code IS NOT NULL" ||
    fail "the old app did not write through the view: $(head -3 "$T_DIR/old.err")"
writer_stop $old old
probe_start people 0008-contract
migrate 0008_rename contract
probe_check 0008-contract
sleep 0.5
writer_stop $new new
[ "$(q "SELECT count(*) FROM pg_class WHERE relname = 'users'")" = 0 ] || fail "the view users was left"
rename_rows_kept $rows

# control: a lock held for 3 s does block the probe past its 1 s lock_timeout
"$T_DIR/probe" "$PG_URL" people $((rows - 9)) 60 1000 >"$T_DIR/probe-control.out" 2>"$T_DIR/probe-control.err" &
probe=$!
track $probe
wait_for 60 grep -q "^probe started" "$T_DIR/probe-control.out" ||
    fail "control: the probe did not start: $(head -3 "$T_DIR/probe-control.err")"
psql -qX -c "BEGIN; LOCK TABLE people IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null ||
    fail "control lock failed"
kill -TERM $probe
wait $probe
[ "$(probe_result "$T_DIR/probe-control.out" lock_timeouts)" -ge 1 ] ||
    fail "the probe did not notice a 3 s lock: $(cat "$T_DIR/probe-control.out")"
log "8 operations under an app's reads and writes: 0 errors in either app version, $total rows, no probe transaction blocked past 1 s (baton lock_timeout 200 ms); the control lock was caught"
