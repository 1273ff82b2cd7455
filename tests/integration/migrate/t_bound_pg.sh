#!/usr/bin/env bash
# A backfill on PostgreSQL walks up to the largest key it found when it started, by
# integer ranges and by a composite key: it ends while apps keep inserting, and after
# contract no row lacks the new column (bound.sh).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
. "$here/bound.sh"
pg_start
sql "$PG_URL" "$(bound_seed_sql postgres)
INSERT INTO users SELECT g, 'name' || g FROM generate_series(1, $BOUND_ROWS) g;
INSERT INTO events (id, name) SELECT id, name FROM users" >/dev/null || fail "seed"
step_bound "$PG_URL"
