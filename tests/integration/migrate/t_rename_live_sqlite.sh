#!/usr/bin/env bash
# rename_column on SQLite while an old and a new app version write: 0 errors in either,
# both columns equal on every row until contract, no row lost.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/lib.sh"
. "$here/rename_live.sh"
rename_live "sqlite:$T_DIR/app.db" sqlite
