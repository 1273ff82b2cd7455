# kill -9 at random points of expand, backfill and contract (sourced by t_keyset_*.sh).
# Each round starts from the same seeded database, runs the migrations with runners that
# are killed after a random delay until they are all contracted, and must end with the
# same data as a run without crashes: no manual repair, no row skipped or copied twice.
# A test may set KILL_WRITE and KILL_DUMP (functions: write the migrations into a
# directory; print what a finished run must hold), KILL_NMIG (how many migrations) and
# KILL_REF (a line the crash-free run's dump must hold).
KILL_ROWS=${KILL_ROWS:-6000}

write_kill_migrations() {
    local m=$1
    mkdir -p "$m"
    cat >"$m/0001_items.migration" <<'M'
# rename, new column with a default, an index, and a raw batched backfill that logs each
# row it visits (a row visited twice or never shows in batch_log)
rename_column items name title
add_column items flag INTEGER DEFAULT 0
add_index items items_title title
[backfill items id]
INSERT INTO batch_log (item_id) SELECT id FROM items WHERE id > :lo AND id <= :hi;
M
    cat >"$m/0002_items_types.migration" <<'M'
change_type items qty qty_big BIGINT
drop_column items note
add_constraint items flag_ok CHECK (flag >= 0)
M
}

# kill_dump URL: the data a finished run must hold, one line per row.
kill_dump() {
    local url=$1
    sql "$url" "SELECT id || ':' || title || ':' || flag || ':' || qty_big FROM items ORDER BY id"
    echo "batch_log rows: $(sql "$url" "SELECT count(*) FROM batch_log")"
    echo "batch_log distinct: $(sql "$url" "SELECT count(DISTINCT item_id) FROM batch_log")"
    echo "ledger: $(sql "$url" "SELECT id || '=' || phase FROM baton_migrations ORDER BY id" | tr '\n' ' ')"
}

# kill_rounds NEW_DB_FN MIN_KILLS: NEW_DB_FN N prints the URL of a fresh seeded database.
kill_rounds() {
    local new_db=$1 min_kills=$2 m="$T_DIR/migrations"
    local write=${KILL_WRITE:-write_kill_migrations} dump=${KILL_DUMP:-kill_dump}
    local nmig=${KILL_NMIG:-2} ref_line=${KILL_REF:-"batch_log rows: $KILL_ROWS"}
    $write "$m"
    export BATON_MIGRATIONS=$m
    # --probe off: the kills test crash safety, not pacing (the throttle would stretch runs)
    local opts=(--batch-size 100 --batch-max 100 --batch-sleep-ms 4 --wait-ms 60000 --probe off)
    # the reference: a run without crashes
    local ref
    ref=$($new_db 0)
    local t0=$EPOCHREALTIME
    BATON_DB=$ref "$BATON" migrate expand "${opts[@]}" 2>>"$T_DIR/migrate.log" || fail "reference expand failed"
    # kills land at random within half the crash-free expand (at least 450 ms), so that on a
    # busy machine, where a runner takes longer to start, they still land inside the work
    local window_ms
    window_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { w = (b - a) * 500; print (w < 450 ? 450 : int(w)) }')
    BATON_DB=$ref "$BATON" migrate contract "${opts[@]}" 2>>"$T_DIR/migrate.log" || fail "reference contract failed"
    $dump "$ref" >"$T_DIR/ref.dump"
    grep -qxF "$ref_line" "$T_DIR/ref.dump" || fail "the reference run lacks '$ref_line': $(head -5 "$T_DIR/ref.dump")"
    local kills=0 round=0 runs=0
    while [ $kills -lt "$min_kills" ]; do
        round=$((round + 1))
        [ $round -le 40 ] || fail "only $kills kills after 40 rounds"
        local url
        url=$($new_db $round)
        local verb=expand
        while :; do
            local phases
            phases=$(sql "$url" "SELECT phase FROM baton_migrations" 2>/dev/null | sort -u | tr '\n' ' ')
            [ "$phases" = "contracted " ] && [ "$(sql "$url" "SELECT count(*) FROM baton_migrations")" = "$nmig" ] && break
            verb=expand
            case "$phases" in "backfilled "|"backfilled contracted "|"contracted backfilled "|"contracting "*|*" contracting "*) verb=contract ;; esac
            [ "$(sql "$url" "SELECT count(*) FROM baton_migrations WHERE phase IN ('backfilled','contracting','contracted')" 2>/dev/null)" = "$nmig" ] && verb=contract
            runs=$((runs + 1))
            [ $runs -le 1500 ] || fail "too many runs ($runs)"
            BATON_DB=$url "$BATON" migrate "$verb" "${opts[@]}" 2>>"$T_DIR/migrate.log" &
            local pid=$!
            sleep "$(awk -v r=$((RANDOM * 32768 + RANDOM)) -v w="$window_ms" 'BEGIN { printf "%.3f", (r % w) / 1000 }')"
            if kill -KILL $pid 2>/dev/null; then
                wait $pid 2>/dev/null
                kills=$((kills + 1))
            else
                wait $pid || fail "round $round: 'baton migrate $verb' failed on its own after a kill: $(tail -3 "$T_DIR/migrate.log")"
            fi
        done
        $dump "$url" >"$T_DIR/round$round.dump"
        diff -q "$T_DIR/ref.dump" "$T_DIR/round$round.dump" >/dev/null ||
            fail "round $round: data differs from the crash-free run: $(diff "$T_DIR/ref.dump" "$T_DIR/round$round.dump" | head -5)"
        log "round $round: $kills kills so far, data equal to the crash-free run"
    done
    log "$kills kill -9 in $round rounds ($runs runs, kills within $window_ms ms of a start): every next run finished, data equal to the crash-free run"
}
