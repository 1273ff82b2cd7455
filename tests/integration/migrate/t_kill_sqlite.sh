#!/usr/bin/env bash
# kill -9 at random points of expand/backfill/contract on SQLite (at least 50 kills): the
# next run finishes without repair and the data equals a crash-free run.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/lib.sh"
. "$here/kill_resume.sh"

seed="$T_DIR/seed.db"
sqlite3 "$seed" "PRAGMA journal_mode=WAL;
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, note TEXT);
CREATE TABLE batch_log (item_id INTEGER);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $KILL_ROWS)
INSERT INTO items (id, name, qty, note) SELECT i, 'item' || i, i % 97, 'x' FROM s;" >/dev/null || fail "seed"

new_sqlite_db() {
    cp "$seed" "$T_DIR/r$1.db"
    echo "sqlite:$T_DIR/r$1.db"
}
kill_rounds new_sqlite_db 50
