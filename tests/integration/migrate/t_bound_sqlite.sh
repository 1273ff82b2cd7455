#!/usr/bin/env bash
# A backfill on SQLite walks up to the largest key it found when it started, by integer
# ranges and by a composite key: it ends while apps keep inserting, and after contract no
# row lacks the new column (bound.sh).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/lib.sh"
. "$here/bound.sh"
url="sqlite:$T_DIR/app.db"
sql "$url" "PRAGMA journal_mode=WAL; $(bound_seed_sql sqlite)
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $BOUND_ROWS)
INSERT INTO users SELECT i, 'name' || i FROM s;
INSERT INTO events (id, name) SELECT id, name FROM users" >/dev/null || fail "seed"
step_bound "$url"
