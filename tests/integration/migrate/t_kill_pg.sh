#!/usr/bin/env bash
# kill -9 at random points of expand/backfill/contract on PostgreSQL (at least 50 kills):
# the next run finishes without repair and the data equals a crash-free run.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
. "$here/kill_resume.sh"
pg_start
sql "$PG_URL" "CREATE DATABASE seed" >/dev/null || fail "createdb"
seed_url="postgres://baton@127.0.0.1:$PGPORT/seed"
sql "$seed_url" "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, note TEXT);
CREATE TABLE batch_log (item_id INTEGER);
INSERT INTO items (id, name, qty, note) SELECT g, 'item' || g, g % 97, 'x' FROM generate_series(1, $KILL_ROWS) g" >/dev/null || fail "seed"

new_pg_db() {
    sql "$PG_URL" "CREATE DATABASE r$1 TEMPLATE seed" >/dev/null || fail "createdb r$1"
    echo "postgres://baton@127.0.0.1:$PGPORT/r$1"
}
kill_rounds new_pg_db 50
