#!/usr/bin/env bash
# kill -9 at random points while PostgreSQL runs the operations that replace what the
# linter refuses (add_primary_key, add_unique, add_foreign_key, set_not_null, reindex,
# drop_index, rename_table and a no-transaction section), at least 40 kills: the next run
# finishes without repair, leaves no invalid index (an index build a kill interrupted is
# dropped and built again) and ends with the schema and data of a crash-free run.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
. "$here/kill_resume.sh"
rows=${KILL_OPS_ROWS:-60000}
pg_start
sql "$PG_URL" "CREATE DATABASE seed" >/dev/null || fail "createdb"
seed_url="postgres://baton@127.0.0.1:$PGPORT/seed"
sql "$seed_url" "CREATE TABLE owners (id INTEGER PRIMARY KEY, label TEXT);
CREATE TABLE items (id INTEGER NOT NULL, name TEXT, qty INTEGER, owner INTEGER);
INSERT INTO owners SELECT g, 'o' || g FROM generate_series(1, 50) g;
INSERT INTO items SELECT g, 'item' || g, g % 97, g % 50 + 1 FROM generate_series(1, $rows) g;
CREATE INDEX items_name ON items (name)" >/dev/null || fail "seed"

write_ops_migrations() {
    mkdir -p "$1"
    cat >"$1/0001_keys.migration" <<'M'
add_primary_key items items_pkey id
add_unique items items_name_key name
add_foreign_key items items_owner_fk (owner) REFERENCES owners (id)
set_not_null owners label
reindex items items_name
drop_index items items_name
M
    cat >"$1/0002_shape.migration" <<'M'
rename_table items things
[expand no-transaction]
CREATE INDEX CONCURRENTLY IF NOT EXISTS things_qty ON things (qty);
CREATE INDEX CONCURRENTLY IF NOT EXISTS things_owner ON things (owner);
[abort no-transaction]
DROP INDEX CONCURRENTLY IF EXISTS things_qty;
DROP INDEX CONCURRENTLY IF EXISTS things_owner;
M
}

# What a finished run must hold: constraints, indexes, NOT NULLs, rows, and no leftover.
ops_dump() {
    local url=$1
    sql "$url" "SELECT conname || ':' || contype::text || ':' || convalidated FROM pg_constraint WHERE conrelid = 'things'::regclass ORDER BY 1"
    sql "$url" "SELECT c.relname || ':' || i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'things'::regclass ORDER BY 1"
    sql "$url" "SELECT attrelid::regclass || '.' || attname || ':' || attnotnull FROM pg_attribute WHERE attrelid IN ('things'::regclass, 'owners'::regclass) AND attnum > 0 AND NOT attisdropped ORDER BY 1"
    sql "$url" "SELECT conname || ':' || contype::text FROM pg_constraint WHERE conrelid = 'owners'::regclass ORDER BY 1"
    echo "items left: $(sql "$url" "SELECT count(*) FROM pg_class WHERE relname = 'items'")"
    echo "invalid indexes: $(sql "$url" "SELECT count(*) FROM pg_index WHERE NOT indisvalid")"
    echo "rows: $(sql "$url" "SELECT count(*) || ' ' || sum(qty) || ' ' || sum(owner) FROM things")"
    echo "ledger: $(sql "$url" "SELECT id || '=' || phase FROM baton_migrations ORDER BY id" | tr '\n' ' ')"
}

new_pg_db() {
    sql "$PG_URL" "CREATE DATABASE r$1 TEMPLATE seed" >/dev/null || fail "createdb r$1"
    echo "postgres://baton@127.0.0.1:$PGPORT/r$1"
}
KILL_WRITE=write_ops_migrations KILL_DUMP=ops_dump KILL_NMIG=2 KILL_REF="items left: 0" \
    kill_rounds new_pg_db "${KILL_OPS_MIN:-40}"
grep -q "first removing what a killed run left behind" "$T_DIR/migrate.log" &&
    log "an interrupted index build was dropped and built again: $(grep -c 'first removing' "$T_DIR/migrate.log") times"
grep -q "^invalid indexes: 0$" "$T_DIR/ref.dump" || fail "the crash-free run left an invalid index"
