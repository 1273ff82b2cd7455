#!/usr/bin/env bash
# Backfills over a composite (text, text) key and a text key on SQLite, with kill -9 at
# random points (at least 20 kills): every next run resumes from the stored key position
# and the data equals a crash-free run, no row skipped or visited twice.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/lib.sh"
. "$here/kill_resume.sh"
. "$here/keyset.sh"

seed="$T_DIR/seed.db"
sqlite3 "$seed" "PRAGMA journal_mode=WAL;
CREATE TABLE docs (tenant TEXT NOT NULL, id TEXT NOT NULL, name TEXT, PRIMARY KEY (tenant, id));
CREATE TABLE tags (code TEXT PRIMARY KEY, label TEXT);
CREATE TABLE batch_log (k TEXT);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $KILL_ROWS)
INSERT INTO docs SELECT 't' || (i % 7), 'd''' || printf('%x', i * 2654435761 % 4294967296), 'doc' || i FROM s;
$(keyset_tags_sql)" >/dev/null || fail "seed"

new_sqlite_db() {
    cp "$seed" "$T_DIR/r$1.db"
    echo "sqlite:$T_DIR/r$1.db"
}
keyset_kill_rounds new_sqlite_db 20
log "composite and text keys: every row copied once across kills"
