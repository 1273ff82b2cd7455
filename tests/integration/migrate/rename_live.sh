# The rename-live step of driver.sh: a rename_column with two live app versions (the
# writer helper), for one database. An "old app" writes TABLE.OLD, a "new app" writes
# TABLE.NEW, through expand, backfill and contract; both must see 0 errors, and every
# row must hold the same value in both columns until contract. Each app writes (an
# operation every 20 ms, so that a busy machine's backfill still gets the write lock)
# until the scenario stops it (SIGTERM), with a hard cap of 10 minutes.

# md_phase_is URL ID PHASE...: migration ID is in one of PHASEs.
md_phase_is() {
    local p=" ${*:3} "
    [[ "$p" == *" $(ledger_phase "$1" "$2") "* ]]
}

# md_rows_at_least WHERE N: at least N rows of the step's table match WHERE.
md_rows_at_least() { [ "$(sql "$MD_URL" "SELECT count(*) FROM $RL_TABLE WHERE $1")" -ge "$2" ]; }

# md_writer_stop PID NAME: the app stops; it saw 0 errors and wrote.
md_writer_stop() {
    writer_stop "$1" "$2-$MD_ENGINE"
    [ "$(writer_result "$T_DIR/$2-$MD_ENGINE.out" inserts)" -gt 10 ] || fail "$MD_ENGINE: the $2 app barely wrote"
}

step_rename_live() {
    RL_TABLE=${1:?table}
    local old=${2:?old column} new=${3:?new column} id=${4:?migration} rows=${5:?rows}
    local differ="$old IS NOT $new" oldpid newpid mig sampler samples bad total
    [ "$MD_ENGINE" = postgres ] && differ="$old IS DISTINCT FROM $new"
    build_writer
    WRITER_TABLE=$RL_TABLE "$T_DIR/writer" "$MD_URL" "$old" 600 1000000 "$rows" 20000 \
        >"$T_DIR/old-$MD_ENGINE.out" 2>"$T_DIR/old-$MD_ENGINE.err" &
    oldpid=$!
    track $oldpid
    # expand + backfill, slowed so the apps write during every phase (batches of 200 rows:
    # a 1 s target keeps a busy machine from shrinking them to a few rows)
    "$BATON" migrate expand --batch-size 200 --batch-max 200 --batch-sleep-ms 10 --time-target 1s \
        2>>"$T_DIR/migrate.log" &
    mig=$!
    track $mig
    wait_for 60 md_phase_is "$MD_URL" "$id" backfilling backfilled || fail "$MD_ENGINE: $id never reached its backfill"
    # while the backfill walks: every row at or below its stored position holds the same
    # value in both columns (one statement, so one snapshot, reads position and rows)
    while kill -0 $mig 2>/dev/null; do
        sql "$MD_URL" "WITH p AS (SELECT coalesce(max(backfill_pos), 0) AS pos FROM baton_migrations WHERE id = '$id' AND phase = 'backfilling') SELECT (SELECT count(*) FROM $RL_TABLE, p WHERE $differ AND id <= p.pos) || ' ' || (SELECT pos FROM p)" 2>/dev/null
        sleep 0.1
    done >"$T_DIR/sampler-$MD_ENGINE.out" &
    sampler=$!
    # the new version is deployed once the expand phase is done
    WRITER_TABLE=$RL_TABLE "$T_DIR/writer" "$MD_URL" "$new" 600 2000000 "$rows" 20000 \
        >"$T_DIR/new-$MD_ENGINE.out" 2>"$T_DIR/new-$MD_ENGINE.err" &
    newpid=$!
    track $newpid
    wait $mig || fail "$MD_ENGINE: baton migrate expand failed: $(tail -3 "$T_DIR/migrate.log")"
    md_phase_is "$MD_URL" "$id" backfilled || fail "$MD_ENGINE: $id not backfilled"
    wait $sampler
    samples=$(grep -c '^0 [1-9]' "$T_DIR/sampler-$MD_ENGINE.out")
    [ "$samples" -ge 3 ] || fail "$MD_ENGINE: only $samples samples inside the backfill: $(tail -3 "$T_DIR/sampler-$MD_ENGINE.out")"
    grep -qv '^0 ' "$T_DIR/sampler-$MD_ENGINE.out" &&
        fail "$MD_ENGINE: rows behind the backfill position differ: $(sort "$T_DIR/sampler-$MD_ENGINE.out" | uniq -c | tr '\n' ' ')"
    # both apps write side by side after the backfill
    bad=$(sql "$MD_URL" "SELECT count(*) FROM $RL_TABLE WHERE id >= 2000000")
    wait_for 60 md_rows_at_least "id >= 2000000" $((bad + 20)) || fail "$MD_ENGINE: the new app does not write"
    bad=$(sql "$MD_URL" "SELECT count(*) FROM $RL_TABLE WHERE $differ")
    [ "$bad" = 0 ] || fail "$MD_ENGINE: $bad rows differ between $old and $new while both apps write"
    md_writer_stop $oldpid old
    bad=$(sql "$MD_URL" "SELECT count(*) FROM $RL_TABLE WHERE $differ OR $new IS NULL")
    [ "$bad" = 0 ] || fail "$MD_ENGINE: $bad rows differ or lack $new before contract"
    # contract while the new version keeps writing
    "$BATON" migrate contract 2>>"$T_DIR/migrate.log" || fail "$MD_ENGINE: contract failed: $(tail -3 "$T_DIR/migrate.log")"
    bad=$(sql "$MD_URL" "SELECT count(*) FROM $RL_TABLE WHERE id >= 2000000")
    wait_for 60 md_rows_at_least "id >= 2000000" $((bad + 20)) || fail "$MD_ENGINE: the new app stopped writing after contract"
    md_writer_stop $newpid new
    total=$(sql "$MD_URL" "SELECT count(*) FROM $RL_TABLE WHERE $new IS NOT NULL")
    local want=$((rows + $(writer_result "$T_DIR/old-$MD_ENGINE.out" inserts) + $(writer_result "$T_DIR/new-$MD_ENGINE.out" inserts)))
    [ "$total" = "$want" ] || fail "$MD_ENGINE: $total rows with $new, expected $want"
    if sql "$MD_URL" "SELECT $old FROM $RL_TABLE LIMIT 1" >/dev/null 2>&1; then
        fail "$MD_ENGINE: $RL_TABLE.$old still exists after contract"
    fi
    md_phase_is "$MD_URL" "$id" contracted || fail "$MD_ENGINE: $id not contracted"
    log "$MD_ENGINE: rename_column under two app versions: 0 errors, $total rows, columns equal until contract ($samples samples during the backfill)"
}
