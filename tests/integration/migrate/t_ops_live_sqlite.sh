#!/usr/bin/env bash
# The operations SQLite can do (add_unique, set_not_null, reindex, drop_index, a
# no-transaction section, rename_table), each expanded and contracted while an app reads
# and writes the table: 0 errors, no row lost; after rename_table the old app writes
# through the view (INSTEAD OF triggers) and a new app writes the table; add_primary_key
# and add_foreign_key are refused before any DDL with the reason.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/lib.sh"
rows=20000
url="sqlite:$T_DIR/app.db"
sql "$url" "PRAGMA journal_mode=WAL;
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, code TEXT DEFAULT 'c');
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $rows)
INSERT INTO users (id, name, email, code) SELECT i, 'n' || i, 'u' || i || '@example.com', 'c' FROM s;
CREATE INDEX users_name_old ON users (name)" >/dev/null || fail "seed"
m="$T_DIR/m"
mkdir -p "$m"
printf 'add_unique users users_email_key email\n' >"$m/0001_unique.migration"
printf 'set_not_null users code\n' >"$m/0002_not_null.migration"
printf 'reindex users users_name_old\n' >"$m/0003_reindex.migration"
printf 'drop_index users users_name_old\n' >"$m/0004_drop_index.migration"
printf '[contract no-transaction]\nVACUUM;\n' >"$m/0005_vacuum.migration"
printf 'rename_table users people\n' >"$m/0006_rename.migration"
export BATON_DB=$url BATON_MIGRATIONS=$m
"$BATON" migrate lint --db "$url" "$m"/*.migration >"$T_DIR/lint.out" ||
    fail "the operations must lint clean: $(cat "$T_DIR/lint.out")"

build_writer
WRITER_READS=1 "$T_DIR/writer" "$url" name 600 1000000 $rows 2000 >"$T_DIR/old.out" 2>"$T_DIR/old.err" &
old=$!
track $old
migrate() {
    "$BATON" migrate "$2" --to "$1" 2>>"$T_DIR/migrate.log" ||
        fail "$1: $2 failed: $(tail -3 "$T_DIR/migrate.log")"
}
for id in 0001_unique 0002_not_null 0003_reindex 0004_drop_index 0005_vacuum; do
    migrate "$id" expand
    migrate "$id" contract
    [ "$(ledger_phase "$url" "$id")" = contracted ] || fail "$id: not contracted"
done
[ "$(sql "$url" "SELECT count(*) FROM sqlite_master WHERE name = 'users_email_key'")" = 1 ] || fail "no unique index"
[ "$(sql "$url" "SELECT count(*) FROM sqlite_master WHERE name = 'users_name_old'")" = 0 ] || fail "index not dropped"
if sql "$url" "INSERT INTO users (id, name, code) VALUES (-1, 'x', NULL)" 2>/dev/null; then
    fail "set_not_null lets a NULL in"
fi

migrate 0006_rename expand
[ "$(sql "$url" "SELECT type FROM sqlite_master WHERE name = 'users'")" = view ] || fail "users is not a view"
rename_new_app "$url" 600 $rows
wait_for 60 people_at_least "id BETWEEN 1000000 AND 1999999 AND code = 'c'" ||
    fail "the old app's inserts through the view lack their default: $(head -3 "$T_DIR/old.err")"
writer_stop $old old
migrate 0006_rename contract
writer_stop $new new
[ "$(sql "$url" "SELECT count(*) FROM sqlite_master WHERE name = 'users'")" = 0 ] || fail "the view users was left"
rename_rows_kept $rows

# what SQLite cannot do is refused before any DDL, with the reason
printf 'add_primary_key people people_pk2 id\n' >"$m/0007_pk.migration"
out=$("$BATON" migrate expand 2>&1) && fail "add_primary_key on SQLite was accepted"
echo "$out" | grep "sqlite-unsupported-alter" >/dev/null || fail "no lint finding for add_primary_key: $out"
[ "$(ledger_phase "$url" 0007_pk)" = "" ] || fail "0007 reached the ledger"
log "6 operations on SQLite under an app's reads and writes: 0 errors in either app version, $total rows"
