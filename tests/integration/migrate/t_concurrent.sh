#!/usr/bin/env bash
# 16 concurrent `baton migrate expand` and then `contract` runners, on SQLite and on
# PostgreSQL: all exit 0 and every step (and every backfill batch) is applied exactly once.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
. "$here/concurrent.sh"

seed_items() {
    sql "$1" "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE batch_log (item_id INTEGER);" >/dev/null || fail "seed"
    local i values=""
    sql "$1" "INSERT INTO items (id, name) $2" >/dev/null || fail "seed rows"
}
seed_items "sqlite:$T_DIR/app.db" "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000) SELECT i, 'n' || i FROM s"
concurrent_case "sqlite:$T_DIR/app.db" sqlite
pg_start
seed_items "$PG_URL" "SELECT g, 'n' || g FROM generate_series(1, 3000) g"
concurrent_case "$PG_URL" postgres
