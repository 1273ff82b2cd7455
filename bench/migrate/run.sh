#!/usr/bin/env bash
# baton migrate under load, in interleaved rounds (median and spread of each ratio).
#  PostgreSQL: rename_column of a BENCH_ROWS-row table (default 30,000) while pgbench runs
#    an app script on that table (writes the old column, reads by id). Each round runs
#    pgbench without a migration and during baton's default backfill back to back, the
#    order alternating from round to round (a machine whose load drifts weighs on both
#    orders alike), and takes that round's ratio; the run without lasts as long as the
#    last backfill. The migration is aborted after each backfill, outside the measure.
#  SQLite: 4 app writers (busy_timeout 5 s) during a rename_column backfill of SQLITE_ROWS
#    rows (default 100,000) on a fresh copy each round, against the same writers without
#    a migration before and after it (the mean of the two p99): write p99 ratio,
#    SQLITE_BUSY reaching the app.
# BENCH_SQLITE=0 skips SQLite.
# Goals: TPS during the default backfill >= 0.9x, SQLite write p99 <= 2x, 0 BUSY.
set -u
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
BATON=$build/baton
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROWS=${BENCH_ROWS:-30000}
SQLITE_ROWS=${SQLITE_ROWS:-100000}
ROUNDS=${BENCH_ROUNDS:-5}
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
# the run without a migration lasts as long as the last backfill (3 s to 30 s), so both
# sides of a ratio average over windows of about the same length
BASE_SECS=5
baseline() { sleep "$BASE_SECS"; }
# baton_rename ARGS...: expand (then backfill) under the options; the log is kept per arm
baton_rename() {
    BATON_DB=$PG_URL BATON_MIGRATIONS=$T_DIR/m "$BATON" migrate expand "$@" 2>"$T_DIR/pg-migrate.log" ||
        { tail -3 "$T_DIR/pg-migrate.log" >&2; return 1; }
}
# the abort runs outside the measure, so the next run starts from the same table
baton_abort() {
    BATON_DB=$PG_URL BATON_MIGRATIONS=$T_DIR/m "$BATON" migrate abort 0001_rename 2>>"$T_DIR/pg-abort.log" ||
        fail "abort failed: $(tail -2 "$T_DIR/pg-abort.log")"
    psql -qX -c "VACUUM users" >/dev/null
}
# Each round runs the two pgbench arms back to back, odd rounds the run without first,
# even rounds the backfill first, so a load that drifts during a round weighs on both
# orders alike; the ratio is the round's own.
r_adapt=() s_adapt=() duty_adapt=() t_base=()
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then
        read -r tps_b _ < <(pgbench_during baseline)
        read -r tps_a secs_a < <(pgbench_during baton_rename)
        baton_abort
    else
        read -r tps_a secs_a < <(pgbench_during baton_rename)
        baton_abort
        read -r tps_b _ < <(pgbench_during baseline)
    fi
    [ -n "${tps_a:-}" ] && [ -n "${tps_b:-}" ] || fail "round $round: a pgbench run gave no figure (see above)"
    duty=$(sed -n 's/.*throttle: .* mean duty \([0-9]*\)%.*/\1/p' "$T_DIR/pg-migrate.log" | tail -1)
    BASE_SECS=$(awk -v s="$secs_a" 'BEGIN { s = int(s + 0.5); print (s < 3 ? 3 : (s > 30 ? 30 : s)) }')
    r_adapt+=("$(awk -v a="$tps_a" -v b="$tps_b" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
    s_adapt+=("$secs_a") duty_adapt+=("${duty:-0}") t_base+=("$tps_b")
    echo "round $round ($([ $((round % 2)) -eq 1 ] && echo "without first" || echo "backfill first")): no migration $tps_b tps; default backfill $tps_a tps in ${secs_a}s (mean duty ${duty:-?}%): ${r_adapt[-1]}x" >&2
done

echo
echo "PostgreSQL: rename_column of $ROWS rows under pgbench ($CLIENTS clients, app script on the same table), $ROUNDS rounds, each backfill paired with a run without (order alternating): median (min-max)"
printf '%-40s %22s %22s %8s\n' "backfill" "tps / tps without" "backfill seconds" "goal"
printf '%-40s %22s %22s %8s\n' "default (adaptive throttle)" "$(stats "${r_adapt[@]}")" "$(stats "${s_adapt[@]}")" ">= 0.90"
echo "tps without a migration: $(stats "${t_base[@]}"); mean duty of the default backfill: $(stats "${duty_adapt[@]}") %"

# ---------------------------------------------------------------- SQLite
[ "${BENCH_SQLITE:-1}" = 1 ] || exit 0
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
