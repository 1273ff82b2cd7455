# The bounded-walk scenario, for one database (source after lib.sh; needs $T_DIR and
# step_bound URL): apps insert into two tables throughout expand and backfill, one walked
# by integer ranges (a rename_column and a raw [backfill] logging each batch), one by a
# composite key (a raw [backfill] logging each batch with the table's largest key then).
# Each walk stops at the largest key it found when it started, so it ends while the apps
# still insert and no batch reaches a row inserted after its first; after contract no row
# lacks the new column and none is lost.

BOUND_ROWS=3000

bound_seed_sql() {
    local big=INTEGER
    [ "$1" = postgres ] && big=BIGINT
    cat <<SQL
CREATE TABLE users (id $big PRIMARY KEY, name TEXT);
CREATE TABLE events (grp $big NOT NULL DEFAULT 1, id $big NOT NULL, name TEXT, PRIMARY KEY (grp, id));
CREATE TABLE walk_log (t TEXT NOT NULL, hi $big, top $big);
SQL
}

# bound_write URL TABLE NAME: an app inserting rows above the seeded keys into TABLE (and
# updating seeded rows) until stopped, with a hard cap of 10 minutes; its pid in BOUND_PID.
bound_write() {
    WRITER_TABLE=$2 "$T_DIR/writer" "$1" name 600 1000000 "$BOUND_ROWS" 2000 200000 \
        >"$T_DIR/$3.out" 2>"$T_DIR/$3.err" &
    BOUND_PID=$!
    track $BOUND_PID
}

# bound_inserted URL N: the app has inserted at least N rows into events.
bound_inserted() { [ "$(sql "$1" "SELECT count(*) FROM events WHERE id > $BOUND_ROWS")" -ge "$2" ]; }

step_bound() {
    local url=$1 engine=sqlite users events t first last hi bound total
    case "$url" in postgres*) engine=postgres ;; esac
    mkdir -p "$T_DIR/m"
    printf 'rename_column users name full_name\n' >"$T_DIR/m/0001_rename.migration"
    printf '[backfill users id]\nINSERT INTO walk_log (t, hi, top) SELECT %s, max(id), (SELECT max(id) FROM users) FROM users WHERE id > :lo AND id <= :hi;\n' \
        "'users'" >"$T_DIR/m/0002_walk_int.migration"
    printf '[backfill events grp,id]\nINSERT INTO walk_log (t, hi, top) SELECT %s, max(id), (SELECT max(id) FROM events) FROM events WHERE (grp, id) > :lo AND (grp, id) <= :hi;\n' \
        "'events'" >"$T_DIR/m/0003_walk_keyset.migration"
    export BATON_DB=$url BATON_MIGRATIONS=$T_DIR/m
    build_writer
    bound_write "$url" users users-app
    users=$BOUND_PID
    bound_write "$url" events events-app
    events=$BOUND_PID
    # the apps insert before the walks start, so each walk's first batch already sees rows
    # above the bound it took
    wait_for 60 bound_inserted "$url" 20 ||
        fail "$engine: the apps never inserted: $(head -3 "$T_DIR/events-app.err")"
    "$BATON" migrate expand --batch-size 100 --batch-max 100 --batch-sleep 20ms \
        2>"$T_DIR/migrate.log" || fail "$engine: expand failed: $(tail -3 "$T_DIR/migrate.log")"
    kill -0 "$users" && kill -0 "$events" || fail "$engine: an app stopped before the backfills ended"
    for t in users events; do
        # first: the table's largest key at the walk's first batch; last: at its last
        first=$(sql "$url" "SELECT top FROM walk_log WHERE t = '$t' ORDER BY hi LIMIT 1")
        last=$(sql "$url" "SELECT max(top) FROM walk_log WHERE t = '$t'")
        hi=$(sql "$url" "SELECT max(hi) FROM walk_log WHERE t = '$t'")
        bound=$(grep "walking $t up to key" "$T_DIR/migrate.log" | tail -1 | grep -o '[0-9][0-9]*' | tail -1)
        [ "${last:-0}" -gt "${first:-0}" ] || fail "$engine: the app inserted nothing into $t during its walk ($first, $last)"
        [ "${hi:-0}" -le "$first" ] || fail "$engine: the walk of $t reached key $hi, past $first where it started: it chased the app's inserts"
        [ "${bound:-x}" = "$hi" ] || fail "$engine: the walk of $t ended at $hi, its logged bound is '$bound'"
    done
    writer_stop "$users" users-app
    writer_stop "$events" events-app
    "$BATON" migrate contract 2>>"$T_DIR/migrate.log" || fail "$engine: contract failed: $(tail -3 "$T_DIR/migrate.log")"
    [ "$(sql "$url" "SELECT count(*) FROM users WHERE full_name IS NULL")" = 0 ] ||
        fail "$engine: rows lack full_name after contract"
    total=$(sql "$url" "SELECT count(*) FROM users")
    [ "$total" = $((BOUND_ROWS + $(writer_result "$T_DIR/users-app.out" inserts))) ] ||
        fail "$engine: $total rows, expected $BOUND_ROWS and the app's inserts"
    log "$engine: the walks stopped at their starting bound while the apps inserted; $total rows, none without full_name after contract"
}
