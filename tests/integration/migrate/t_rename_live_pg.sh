#!/usr/bin/env bash
# rename_column on PostgreSQL while an old and a new app version write: 0 errors in
# either, both columns equal on every row until contract, no row lost.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/../../lib/pg.sh"
. "$here/lib.sh"
. "$here/rename_live.sh"
pg_start
rename_live "$PG_URL" postgres
