#!/usr/bin/env bash
# baton migrate under load, in interleaved rounds (median and spread of each ratio).
#  PostgreSQL: rename_column of a BENCH_ROWS-row table (default 30,000) while pgbench runs
#    an app script on that table (writes the old column, reads by id). Each round measures
#    pgbench TPS without a migration, during baton's default backfill (the adaptive
#    throttle, --duty-percent 50 as its cap), without a migration again, during a backfill
#    at a fixed 50% duty (no probe: the pacing before the throttle), and without again; each
#    backfill is compared with the mean of the runs without on either side of it, so a
#    machine whose load drifts during a round skews the ratio less. The migration is
#    aborted after each backfill.
#  SQLite: 4 app writers (busy_timeout 5 s) during a rename_column backfill of SQLITE_ROWS
#    rows (default 100,000) on a fresh copy each round, against the same writers without
#    a migration before and after it (the mean of the two p99): write p99 ratio,
#    SQLITE_BUSY reaching the app.
# Goals: TPS during the default backfill >= 0.9x, SQLite write p99 <= 2x, 0 BUSY.
set -u
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
BATON=$build/baton
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROWS=${BENCH_ROWS:-30000}
SQLITE_ROWS=${SQLITE_ROWS:-100000}
ROUNDS=${BENCH_ROUNDS:-3}
CLIENTS=${PGBENCH_CLIENTS:-4}
T_DIR=$(mktemp -d /tmp/baton-bench-migrate.XXXXXX)
chmod 755 "$T_DIR"
CLEANUPS=()
on_exit() { CLEANUPS+=("$1"); }
fail() { echo "bench migrate: $*" >&2; exit 1; }
. "$here/../lib.sh" # free_port
cleanup() {
    for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null; done
    for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
    rm -rf "$T_DIR"
}
trap cleanup EXIT
. "$repo/tests/lib/pg.sh"
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# stats V...: "median (min-max)" of the values
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }'; }

cc -O2 -o "$T_DIR/writer" "$repo/tests/integration/migrate/writer.c" \
    $(pkg-config --cflags --libs sqlite3 libpq) || fail "cannot build the writer"

# ---------------------------------------------------------------- PostgreSQL
pg_start
psql -qX -c "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT, note TEXT)" \
    -c "INSERT INTO users SELECT g, 'name' || g, 'n' FROM generate_series(1, $ROWS) g" \
    -c "VACUUM ANALYZE users" >/dev/null || fail "cannot load $ROWS rows"
cat >"$T_DIR/app.sql" <<SQL
\set id random(1, $ROWS)
UPDATE users SET name = 'v' || :id WHERE id = :id;
SELECT name FROM users WHERE id = :id;
SQL
mkdir -p "$T_DIR/m"
printf 'rename_column users name full_name\n' >"$T_DIR/m/0001_rename.migration"

# pgbench_during CMD...: pgbench with per-second progress while CMD runs; prints
# "TPS SECONDS_OF_CMD" (TPS: the mean of the progress lines inside CMD's run).
pgbench_during() {
    pgbench -n -c "$CLIENTS" -j 2 -T 600 -P 1 -f "$T_DIR/app.sql" >"$T_DIR/pgb.out" 2>"$T_DIR/pgb.err" &
    local pgb=$! t0 s e
    t0=$(now)
    sleep 2
    s=$(now)
    "$@" || echo "command failed: $*" >&2
    e=$(now)
    kill -TERM $pgb 2>/dev/null
    wait $pgb
    awk -v a="$(calc "$s - $t0")" -v b="$(calc "$e - $t0")" '
        /^progress:/ { t = $2 + 0; tps = $4 + 0; if (t > a + 1 && t <= b) { sum += tps; n++ } }
        END { if (n) printf "%.1f", sum / n; else printf "0" }' "$T_DIR/pgb.err"
    printf ' %.1f\n' "$(calc "$e - $s")"
}
baseline() { sleep 10; }
# baton_rename ARGS...: expand (then backfill) under the options, then abort outside the
# measure so the next round starts from the same table
baton_rename() {
    BATON_DB=$PG_URL BATON_MIGRATIONS=$T_DIR/m "$BATON" migrate expand "$@" 2>"$T_DIR/pg-migrate.log" ||
        { tail -3 "$T_DIR/pg-migrate.log" >&2; return 1; }
}
baton_abort() {
    BATON_DB=$PG_URL BATON_MIGRATIONS=$T_DIR/m "$BATON" migrate abort 0001_rename 2>>"$T_DIR/pg-abort.log" ||
        fail "abort failed: $(tail -2 "$T_DIR/pg-abort.log")"
    psql -qX -c "VACUUM users" >/dev/null
}
r_adapt=() r_fixed=() s_adapt=() s_fixed=() duty_adapt=()
read -r tps_base _ < <(pgbench_during baseline)
for round in $(seq "$ROUNDS"); do
    read -r tps_a secs_a < <(pgbench_during baton_rename)
    duty=$(sed -n 's/.*throttle: .* mean duty \([0-9]*\)%.*/\1/p' "$T_DIR/pg-migrate.log" | tail -1)
    baton_abort
    read -r tps_mid _ < <(pgbench_during baseline)
    read -r tps_f secs_f < <(pgbench_during baton_rename --probe off)
    baton_abort
    read -r tps_end _ < <(pgbench_during baseline)
    r_adapt+=("$(calc "2 * $tps_a / ($tps_base + $tps_mid)")")
    r_fixed+=("$(calc "2 * $tps_f / ($tps_mid + $tps_end)")")
    s_adapt+=("$secs_a") s_fixed+=("$secs_f") duty_adapt+=("${duty:-0}")
    echo "round $round: no migration $tps_base tps; default backfill $tps_a tps in ${secs_a}s (mean duty ${duty:-?}%); no migration $tps_mid tps; fixed 50% duty $tps_f tps in ${secs_f}s; no migration $tps_end tps" >&2
    tps_base=$tps_end
done

echo
echo "PostgreSQL: rename_column of $ROWS rows under pgbench ($CLIENTS clients, app script on the same table), $ROUNDS interleaved rounds: median (min-max)"
printf '%-40s %22s %22s %8s\n' "backfill" "tps / tps without" "backfill seconds" "goal"
printf '%-40s %22s %22s %8s\n' "default (adaptive throttle, cap 50%)" "$(stats "${r_adapt[@]}")" "$(stats "${s_adapt[@]}")" ">= 0.90"
printf '%-40s %22s %22s %8s\n' "fixed 50% duty (no probe)" "$(stats "${r_fixed[@]}")" "$(stats "${s_fixed[@]}")" "-"
echo "mean duty of the default backfill: $(stats "${duty_adapt[@]}") %"

# ---------------------------------------------------------------- SQLite
seed="$T_DIR/seed.db"
sqlite3 "$seed" "PRAGMA journal_mode=WAL; CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, note TEXT);
  WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $SQLITE_ROWS)
  INSERT INTO users SELECT i, 'name' || i, 'n' FROM s;" >/dev/null || fail "sqlite load"
db="$T_DIR/app.db"
# writers_during CMD...: 4 app writers (an INSERT and an UPDATE per loop, 1 ms apart) while
# CMD runs; prints "P99_MS MAX_MS BUSY ERRORS OPS" (p99: the worst writer's).
writers_during() {
    local i pids=()
    for i in 1 2 3 4; do
        "$T_DIR/writer" "sqlite:$db" name 300 $((i * 10000000 + RANDOM * 100)) "$SQLITE_ROWS" 1000 \
            >"$T_DIR/w$i.out" 2>"$T_DIR/w$i.err" &
        pids+=($!)
    done
    sleep 1
    "$@" || echo "command failed: $*" >&2
    for i in "${pids[@]}"; do kill -TERM "$i"; done
    wait "${pids[@]}"
    cat "$T_DIR"/w*.out | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        if (v["p99_ms"] > p99) p99 = v["p99_ms"]; if (v["max_ms"] > mx) mx = v["max_ms"];
        busy += v["busy"]; err += v["errors"]; ops += v["ops"] }
        END { printf "%.1f %.1f %d %d %d\n", p99, mx, busy, err, ops }'
}
LITE_SECS=4
lite_sleep() { sleep "$LITE_SECS"; }
lite_rename() {
    local s e
    s=$(now)
    BATON_DB=sqlite:$db BATON_MIGRATIONS=$T_DIR/m "$BATON" migrate expand 2>"$T_DIR/lite-migrate.log" ||
        { tail -3 "$T_DIR/lite-migrate.log" >&2; return 1; }
    e=$(now)
    calc "$e - $s" 0 >"$T_DIR/lite.secs"
}
l_ratio=() l_base=() l_baton=() l_busy=0 l_err=0
rm -f "$db" "$db-wal" "$db-shm" && cp "$seed" "$db"
read -r p_base _ _ _ _ < <(writers_during lite_sleep)
for round in $(seq "$ROUNDS"); do
    rm -f "$db" "$db-wal" "$db-shm" && cp "$seed" "$db"
    read -r p_baton _ b2 e2 _ < <(writers_during lite_rename)
    LITE_SECS=$(cat "$T_DIR/lite.secs" 2>/dev/null || echo 4)
    [ "$LITE_SECS" -ge 2 ] || LITE_SECS=2
    rm -f "$db" "$db-wal" "$db-shm" && cp "$seed" "$db"
    read -r p_after _ _ _ _ < <(writers_during lite_sleep)
    l_ratio+=("$(calc "2 * $p_baton / ($p_base + $p_after)")") l_base+=("$p_base") l_baton+=("$p_baton")
    l_busy=$((l_busy + b2)) l_err=$((l_err + e2))
    echo "round $round: write p99 $p_base ms without, $p_baton ms during the backfill (${LITE_SECS}s), $p_after ms without" >&2
    p_base=$p_after
done
echo
echo "SQLite: rename_column backfill of $SQLITE_ROWS rows against 4 app writers (busy_timeout 5 s), $ROUNDS interleaved rounds: median (min-max)"
printf '%-30s %22s %8s\n' "measure" "value" "goal"
printf '%-30s %22s %8s\n' "write p99 ms, no migration" "$(stats "${l_base[@]}")" "-"
printf '%-30s %22s %8s\n' "write p99 ms, backfill" "$(stats "${l_baton[@]}")" "-"
printf '%-30s %22s %8s\n' "p99 ratio" "$(stats "${l_ratio[@]}")" "<= 2.00"
printf '%-30s %22s %8s\n' "SQLITE_BUSY / errors at app" "$l_busy / $l_err" "0 / 0"
