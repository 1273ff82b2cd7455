# The rename_column scenario with two live app versions, for one database URL (sourced by
# t_rename_live_*.sh after common.sh and lib.sh). An "old app" writes users.name, a "new
# app" writes users.full_name, through expand, backfill and contract; both must see 0
# errors, and every row must hold the same value in both columns until contract.
rename_live() {
    local url=$1 db=$2 rows=20000
    local m="$T_DIR/migrations-$db"
    mkdir -p "$m"
    cat >"$m/0001_users.migration" <<'M'
[expand]
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, note TEXT);
M
    cat >"$m/0002_rename_name.migration" <<'M'
rename_column users name full_name
M
    export BATON_DB=$url BATON_MIGRATIONS=$m
    "$BATON" migrate expand --to 0001_users 2>>"$T_DIR/migrate-$db.log" || fail "$db: expand of 0001 failed"
    if [ "$db" = sqlite ]; then
        sql "$url" "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $rows) INSERT INTO users (id, name) SELECT i, 'n' || i FROM s" || fail "seed"
    else
        sql "$url" "INSERT INTO users (id, name) SELECT g, 'n' || g FROM generate_series(1, $rows) g" || fail "seed"
    fi
    build_writer
    "$T_DIR/writer" "$url" name 90 1000000 $rows 2000 >"$T_DIR/old-$db.out" 2>"$T_DIR/old-$db.err" &
    local old=$!
    track $old
    # expand + backfill, slowed so the apps write during every phase
    "$BATON" migrate expand --batch-size 200 --batch-max 200 --batch-sleep-ms 10 \
        2>>"$T_DIR/migrate-$db.log" &
    local mig=$!
    track $mig
    wait_for 60 bash -c "[ \"\$(. $HERE_MIGRATE/lib.sh; ledger_phase '$url' 0002_rename_name)\" = backfilling ] || [ \"\$(. $HERE_MIGRATE/lib.sh; ledger_phase '$url' 0002_rename_name)\" = backfilled ]" ||
        fail "$db: the rename never reached its backfill"
    # while the backfill walks: every row at or below its stored position holds the same
    # value in both columns (one statement, so one snapshot, reads position and rows)
    local differ="name IS NOT full_name"
    [ "$db" = postgres ] && differ="name IS DISTINCT FROM full_name"
    (
        while kill -0 $mig 2>/dev/null; do
            sql "$url" "WITH p AS (SELECT coalesce(max(backfill_pos), 0) AS pos FROM baton_migrations WHERE id = '0002_rename_name' AND phase = 'backfilling') SELECT (SELECT count(*) FROM users, p WHERE $differ AND id <= p.pos) || ' ' || (SELECT pos FROM p)" 2>/dev/null
            sleep 0.1
        done
    ) >"$T_DIR/sampler-$db.out" &
    local sampler=$!
    # the new version is deployed once the expand phase is done
    "$T_DIR/writer" "$url" full_name 90 2000000 $rows 2000 >"$T_DIR/new-$db.out" 2>"$T_DIR/new-$db.err" &
    local new=$!
    track $new
    wait $mig || fail "$db: baton migrate expand failed: $(tail -3 "$T_DIR/migrate-$db.log")"
    [ "$(ledger_phase "$url" 0002_rename_name)" = backfilled ] || fail "$db: not backfilled"
    wait $sampler
    local samples
    samples=$(grep -c '^0 [1-9]' "$T_DIR/sampler-$db.out")
    [ "$samples" -ge 3 ] || fail "$db: only $samples samples inside the backfill: $(tail -3 "$T_DIR/sampler-$db.out")"
    grep -qv '^0 ' "$T_DIR/sampler-$db.out" && fail "$db: rows behind the backfill position differ: $(sort "$T_DIR/sampler-$db.out" | uniq -c | tr '\n' ' ')"
    sleep 1
    local bad
    bad=$(sql "$url" "SELECT count(*) FROM users WHERE $differ")
    [ "$bad" = 0 ] || fail "$db: $bad rows differ between name and full_name while both apps write"
    kill -TERM $old
    wait $old
    cat "$T_DIR/old-$db.out" >&2
    [ "$(writer_result "$T_DIR/old-$db.out" errors)" = 0 ] || fail "$db: the old app saw errors: $(head -3 "$T_DIR/old-$db.err")"
    [ "$(writer_result "$T_DIR/old-$db.out" inserts)" -gt 10 ] || fail "$db: the old app barely wrote"
    bad=$(sql "$url" "SELECT count(*) FROM users WHERE $differ OR full_name IS NULL")
    [ "$bad" = 0 ] || fail "$db: $bad rows differ or lack full_name before contract"
    # contract while the new version keeps writing
    "$BATON" migrate contract 2>>"$T_DIR/migrate-$db.log" || fail "$db: contract failed: $(tail -3 "$T_DIR/migrate-$db.log")"
    sleep 0.5
    kill -TERM $new
    wait $new
    cat "$T_DIR/new-$db.out" >&2
    [ "$(writer_result "$T_DIR/new-$db.out" errors)" = 0 ] || fail "$db: the new app saw errors: $(head -3 "$T_DIR/new-$db.err")"
    [ "$(writer_result "$T_DIR/new-$db.out" inserts)" -gt 10 ] || fail "$db: the new app barely wrote"
    local old_ins new_ins total
    old_ins=$(writer_result "$T_DIR/old-$db.out" inserts)
    new_ins=$(writer_result "$T_DIR/new-$db.out" inserts)
    total=$(sql "$url" "SELECT count(*) FROM users WHERE full_name IS NOT NULL")
    [ "$total" = $((rows + old_ins + new_ins)) ] || fail "$db: $total rows with full_name, expected $((rows + old_ins + new_ins))"
    if sql "$url" "SELECT name FROM users LIMIT 1" >/dev/null 2>&1; then
        fail "$db: users.name still exists after contract"
    fi
    [ "$(ledger_phase "$url" 0002_rename_name)" = contracted ] || fail "$db: not contracted"
    log "$db: rename_column under two app versions: 0 errors, $total rows, columns equal until contract ($samples samples during the backfill)"
}
