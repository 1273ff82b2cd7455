# 16 concurrent `baton migrate expand` (then contract) runners on one database (sourced by
# t_concurrent.sh): all succeed, and every step and every backfill batch ran exactly once.
RUNNERS=16

concurrent_case() {
    local url=$1 db=$2 rows=3000
    local m="$T_DIR/migrations-$db"
    mkdir -p "$m"
    cat >"$m/0001_applied.migration" <<'M'
[expand]
CREATE TABLE applied (step TEXT);
INSERT INTO applied (step) VALUES ('0001 expand');
[contract]
INSERT INTO applied (step) VALUES ('0001 contract');
M
    cat >"$m/0002_rename.migration" <<'M'
rename_column items name title
[expand]
INSERT INTO applied (step) VALUES ('0002 expand');
[backfill items]
INSERT INTO batch_log (item_id) SELECT id FROM items WHERE id > :lo AND id <= :hi;
[contract]
INSERT INTO applied (step) VALUES ('0002 contract');
M
    cat >"$m/0003_extra.migration" <<'M'
add_column items extra TEXT DEFAULT 'e'
[expand]
INSERT INTO applied (step) VALUES ('0003 expand');
M
    export BATON_DB=$url BATON_MIGRATIONS=$m
    local verb pids i rc
    for verb in expand contract; do
        pids=()
        for i in $(seq 1 $RUNNERS); do
            "$BATON" migrate "$verb" --batch-size 100 --batch-max 100 --batch-sleep-ms 2 --probe off \
                2>"$T_DIR/$db-$verb-$i.log" &
            pids+=($!)
            track $!
        done
        for i in "${!pids[@]}"; do
            wait "${pids[$i]}" || fail "$db: runner $((i + 1)) of '$verb' failed: $(tail -2 "$T_DIR/$db-$verb-$((i + 1)).log")"
        done
        # each step is logged once, by the runner that ran it
        local steps
        steps=$(cat "$T_DIR/$db-$verb"-*.log | grep -c " $verb step ")
        local want=6
        [ $verb = contract ] && want=4
        [ "$steps" = $want ] || fail "$db: $steps '$verb' steps ran across $RUNNERS runners, expected $want"
    done
    local got
    got=$(sql "$url" "SELECT step FROM applied ORDER BY step" | tr '\n' ',')
    [ "$got" = "0001 contract,0001 expand,0002 contract,0002 expand,0003 expand," ] ||
        fail "$db: steps applied: '$got'"
    got=$(sql "$url" "SELECT count(*) || ' ' || count(DISTINCT item_id) FROM batch_log")
    [ "$got" = "$rows $rows" ] || fail "$db: backfill visited (rows, distinct) = $got, expected $rows each"
    got=$(sql "$url" "SELECT count(*) FROM baton_migrations WHERE phase = 'contracted'")
    [ "$got" = 3 ] || fail "$db: $got migrations contracted"
    log "$db: $RUNNERS runners: each step and each batch applied exactly once"
}
