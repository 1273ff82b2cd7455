#!/usr/bin/env bash
# Backfills over a composite (text, uuid) key and a text key on PostgreSQL, with kill -9 at
# random points (at least 20 kills): every next run resumes from the stored key position
# and the data equals a crash-free run, no row skipped or visited twice.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
. "$here/kill_resume.sh"
. "$here/keyset.sh"
pg_start
sql "$PG_URL" "CREATE DATABASE seed" >/dev/null || fail "createdb"
seed_url="postgres://baton@127.0.0.1:$PGPORT/seed"
sql "$seed_url" "CREATE TABLE docs (tenant TEXT NOT NULL, id UUID NOT NULL, name TEXT, PRIMARY KEY (tenant, id));
CREATE TABLE tags (code TEXT PRIMARY KEY, label TEXT);
CREATE TABLE batch_log (k TEXT);
INSERT INTO docs SELECT 't' || (g % 7), md5(g::text)::uuid, 'doc' || g FROM generate_series(1, $KILL_ROWS) g;
$(keyset_tags_sql)" >/dev/null || fail "seed"

new_pg_db() {
    sql "$PG_URL" "CREATE DATABASE r$1 TEMPLATE seed" >/dev/null || fail "createdb r$1"
    echo "postgres://baton@127.0.0.1:$PGPORT/r$1"
}
keyset_kill_rounds new_pg_db 20
log "composite (text, uuid) and text keys: every row copied once across kills"
