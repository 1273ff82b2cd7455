#!/usr/bin/env bash
# baton migrate under load, against the naive way measured in the same run.
#  PostgreSQL: rename_column of a BENCH_ROWS-row table (default 1M) while pgbench runs an
#    app script on that table (writes the old column, reads by id): pgbench TPS during the
#    migration / TPS without it, and p99 batch time; the same for a single UPDATE.
#  SQLite: 4 app writers during a rename_column backfill of SQLITE_ROWS rows: app write
#    p99, SQLITE_BUSY errors reaching the app; the same for a single UPDATE.
set -u
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
BATON=$build/baton
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROWS=${BENCH_ROWS:-1000000}
SQLITE_ROWS=${SQLITE_ROWS:-300000}
CLIENTS=${PGBENCH_CLIENTS:-4}
T_DIR=$(mktemp -d /tmp/baton-bench-migrate.XXXXXX)
chmod 755 "$T_DIR"
CLEANUPS=()
on_exit() { CLEANUPS+=("$1"); }
fail() { echo "bench migrate: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || shuf -i 20000-60000 -n 1; }
cleanup() {
    for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null; done
    for c in "${CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
    rm -rf "$T_DIR"
}
trap cleanup EXIT
. "$repo/tests/lib/pg.sh"
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }

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

# pgbench_during SECONDS CMD...: runs pgbench with per-second progress while CMD runs;
# prints "TPS_DURING SECONDS_OF_CMD".
pgbench_during() {
    local secs=$1; shift
    pgbench -n -c "$CLIENTS" -j 2 -T "$secs" -P 1 -f "$T_DIR/app.sql" >"$T_DIR/pgb.out" 2>"$T_DIR/pgb.err" &
    local pgb=$!
    local t0 s e
    t0=$(now)
    sleep 2
    s=$(now)
    "$@" || echo "command failed: $*" >&2
    e=$(now)
    sleep 1.5
    kill -TERM $pgb 2>/dev/null
    wait $pgb
    # progress lines: "progress: 3.0 s, 1234.5 tps, ..." — average those inside [s, e]
    awk -v a="$(calc "$s - $t0")" -v b="$(calc "$e - $t0")" '
        /^progress:/ { t = $2 + 0; tps = $4 + 0; if (t > a && t <= b + 1) { sum += tps; n++ } }
        END { if (n) printf "%.1f", sum / n; else printf "0" }' "$T_DIR/pgb.err"
    printf ' %.1f\n' "$(calc "$e - $s")"
}

baseline() { sleep 8; }
read -r tps_base1 _ < <(pgbench_during 12 baseline)
baton_rename() {
    BATON_DB=$PG_URL BATON_MIGRATIONS=$T_DIR/m "$BATON" migrate expand \
        --duty-percent "${BENCH_DUTY:-50}" 2>"$T_DIR/pg-migrate.log" ||
        { tail -3 "$T_DIR/pg-migrate.log" >&2; return 1; }
}
read -r tps_baton secs_baton < <(pgbench_during 170 baton_rename)
p99_baton=$(sed -n 's/.*backfill stats:.* p99_ms=\([0-9.]*\).*/\1/p' "$T_DIR/pg-migrate.log" | tail -1)
batches=$(sed -n 's/.*backfill stats:.* batches=\([0-9]*\).*/\1/p' "$T_DIR/pg-migrate.log" | tail -1)
p50_baton=$(sed -n 's/.*backfill stats:.* p50_ms=\([0-9.]*\).*/\1/p' "$T_DIR/pg-migrate.log" | tail -1)
# the baseline again after the migration (the machine may be shared): the mean of both
read -r tps_base2 _ < <(pgbench_during 12 baseline)
tps_base=$(calc "($tps_base1 + $tps_base2) / 2" 1)
naive() {
    local s e
    s=$(now)
    psql -qX -c "ALTER TABLE users ADD COLUMN full_name2 TEXT; UPDATE users SET full_name2 = name;" >/dev/null
    e=$(now)
    calc "$e - $s" >"$T_DIR/naive.secs"
}
read -r tps_naive secs_naive < <(pgbench_during 120 naive)
naive_ms=$(calc "$(cat "$T_DIR/naive.secs") * 1000" 0)

echo
echo "PostgreSQL: rename_column of $ROWS rows under pgbench ($CLIENTS clients, app script on the same table), baton --duty-percent ${BENCH_DUTY:-50}"
printf '%-28s %10s %8s %10s %10s %14s\n' "method" "tps" "ratio" "seconds" "batches" "batch p50/p99 ms"
printf '%-28s %10s %8s %10s %10s %14s\n' "no migration (before/after)" "$tps_base" "1.00" "-" "-" "$tps_base1/$tps_base2 tps"
printf '%-28s %10s %8s %10s %10s %14s\n' "baton (expand+backfill)" "$tps_baton" \
    "$(calc "$tps_baton / $tps_base" 2)" "$secs_baton" "${batches:-?}" "${p50_baton:-?}/${p99_baton:-?}"
printf '%-28s %10s %8s %10s %10s %14s\n' "single UPDATE" "$tps_naive" \
    "$(calc "$tps_naive / $tps_base" 2)" "$secs_naive" 1 "$naive_ms"

# ---------------------------------------------------------------- SQLite
db="$T_DIR/app.db"
sqlite3 "$db" "PRAGMA journal_mode=WAL; CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, note TEXT);
  WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $SQLITE_ROWS)
  INSERT INTO users SELECT i, 'name' || i, 'n' FROM s;" >/dev/null || fail "sqlite load"
# writers_during CMD...: 4 app writers (each an INSERT and an UPDATE per loop, 1 ms
# apart) while CMD runs; prints "P99_MS MAX_MS BUSY ERRORS".
writers_during() {
    local i pids=()
    for i in 1 2 3 4; do
        "$T_DIR/writer" "sqlite:$db" "$WCOL" 300 $((i * 10000000 + RANDOM * 100)) "$SQLITE_ROWS" 1000 \
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
sleep_5() { sleep 5; }
WCOL=name
read -r lp99_base lmax_base _ _ _ < <(writers_during sleep_5)
lite_rename() {
    BATON_DB=sqlite:$db BATON_MIGRATIONS=$T_DIR/m "$BATON" migrate expand 2>"$T_DIR/lite-migrate.log" ||
        { tail -3 "$T_DIR/lite-migrate.log" >&2; return 1; }
}
read -r lp99_baton lmax_baton lbusy_baton lerr_baton _ < <(writers_during lite_rename)
lp99_batch=$(sed -n 's/.*backfill stats:.* p99_ms=\([0-9.]*\).*/\1/p' "$T_DIR/lite-migrate.log" | tail -1)
lite_naive() {
    sqlite3 -cmd ".timeout 60000" "$db" "ALTER TABLE users ADD COLUMN full_name2 TEXT; UPDATE users SET full_name2 = name;"
}
read -r lp99_naive lmax_naive lbusy_naive lerr_naive _ < <(writers_during lite_naive)

echo
echo "SQLite: rename_column backfill of $SQLITE_ROWS rows against 4 app writers (busy_timeout 5 s)"
printf '%-28s %14s %14s %8s %8s %14s\n' "method" "write p99 ms" "write max ms" "BUSY" "errors" "p99 batch ms"
printf '%-28s %14s %14s %8s %8s %14s\n' "no migration" "$lp99_base" "$lmax_base" 0 0 "-"
printf '%-28s %14s %14s %8s %8s %14s\n' "baton (expand+backfill)" "$lp99_baton" "$lmax_baton" \
    "$lbusy_baton" "$lerr_baton" "${lp99_batch:-?}"
printf '%-28s %14s %14s %8s %8s %14s\n' "single UPDATE" "$lp99_naive" "$lmax_naive" \
    "$lbusy_naive" "$lerr_naive" "-"
