#!/usr/bin/env bash
# Benchmarks of libbaton-lazy (bench/lazy/run.sh BUILD_DIR, e.g. build/rel): the cost of
# one upgrade step on a 1 KB document (goal <= 2 us), the read path on an already current
# document against a plain read of the same store, and a sweep's documents/s against the
# same change done eagerly in one go (one SQL UPDATE; on Redis one Lua script), on SQLite,
# PostgreSQL and Redis (servers started in a temporary directory). The sweep rounds are
# interleaved with their peer's and the table shows the median ratio and its spread.
# Prints a table; never fails on speed.
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export BATON=$BUILD/baton
. "$REPO/tests/lib/common.sh"
. "$REPO/tests/lib/redis.sh"
. "$REPO/tests/lib/pg.sh"
DOCS=${LAZY_BENCH_DOCS:-10000}
READS=${LAZY_BENCH_READS:-5000}
ROUNDS=${LAZY_BENCH_ROUNDS:-5}
GOAL=0.50 # sweep documents/s at least half of the eager UPDATE's (SQL stores)
CHAIN=$HERE/chain_bench.json

cc -std=c17 -O2 -Wall -Werror -I"$REPO/include" $(pkg-config --cflags jansson libpq hiredis) -o "$T_DIR/bench_lazy" "$HERE/bench_lazy.c" \
    "$BUILD/libbaton-lazy.a" $(pkg-config --libs jansson sqlite3 libpq hiredis) ||
    fail "cannot build bench_lazy"
redis_start >/dev/null 2>&1
pg_start >/dev/null 2>&1

row() { printf '%-44s %16s %24s %8s %s\n' "$@"; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# median and "min-max" of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }

# About 1 KB per document at version 1.
seed() {
    awk -v n="$DOCS" 'BEGIN { pad = sprintf("%0850d", 0); for (i = 0; i < n; i++)
        printf "d%06d\t{\"_version\":1,\"name\":\"user %d\",\"legacy\":true,\"tmp\":{\"cache\":%d,\"keep\":1},\"pad\":\"%s\"}\n", i, i, i, pad }'
}

echo "libbaton-lazy benchmarks ($DOCS documents of ~1 KB for sweeps, $READS reads, $ROUNDS rounds)"
row "measure" "baton lazy" "peer" "ratio" ""
read -r _ step whole bytes < <("$T_DIR/bench_lazy" steps)
row "upgrade step, ${bytes} B document (ns/step)" "$step" "goal 2000" "$(ratio "$step" 2000)" ""
row "parse + 4 steps + serialize (ns/doc)" "$whole" "-" "-" ""

for store in sqlite redis postgres; do
    case $store in
    sqlite) url="sqlite:$T_DIR/read.db#users" ;;
    redis) url="redis://127.0.0.1:$REDIS_PORT/users" ;;
    postgres) url="$PG_URL#users" ;;
    esac
    read -r _ plain lazy < <("$T_DIR/bench_lazy" read "$url" "$CHAIN" "$READS")
    row "read current doc, $store (ns/read)" "$lazy" "plain read $plain" "$(ratio "$lazy" "$plain")" ""
done

# Sweep against the same change (rename name, add counter, remove legacy and tmp.cache,
# set _version 3) done eagerly, each timed inside bench_lazy around the work alone (a
# process's start and its connection are left out). Each round starts both from the same
# version-1 data.
TABLE='(id TEXT PRIMARY KEY, doc TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1)'
PGTABLE='(id text PRIMARY KEY, doc jsonb NOT NULL, rev bigint NOT NULL DEFAULT 1)'
SWEEPT='(collection TEXT PRIMARY KEY, pass INTEGER NOT NULL, position TEXT NOT NULL)'
SQ=$T_DIR/sweep.db
seed | "$BUILD/baton" lazy load --store "sqlite:$SQ#seed" >/dev/null || fail "load sqlite"
seed | "$BUILD/baton" lazy load --store "$PG_URL#seed" >/dev/null || fail "load postgres"
# Redis: the seed as one pipelined stream of SET commands per prefix (redis-cli --pipe)
seed | awk -F'\t' '{ printf "SET users:%s %s\n", $1, $2 }' | sed 's/"/\\"/g; s/ {/ "{/; s/}$/}"/' >"$T_DIR/users.redis"
sed 's/^SET users:/SET eager:/' "$T_DIR/users.redis" >"$T_DIR/eager.redis"

reset() { # reset STORE: both collections back to the seed, no saved sweep position
    case $1 in
    sqlite) "$T_DIR/bench_lazy" sqlite "$SQ" "DROP TABLE IF EXISTS users; DROP TABLE IF EXISTS eager;
        CREATE TABLE users $TABLE; CREATE TABLE eager $TABLE; INSERT INTO users SELECT * FROM seed;
        INSERT INTO eager SELECT * FROM seed; CREATE TABLE IF NOT EXISTS baton_lazy_sweep $SWEEPT;
        DELETE FROM baton_lazy_sweep; PRAGMA wal_checkpoint(TRUNCATE);" ;;
    postgres) PGOPTIONS='-c client_min_messages=warning' psql -q -v ON_ERROR_STOP=1 "$PG_URL" -c "DROP TABLE IF EXISTS users, eager;
        CREATE TABLE users $PGTABLE; CREATE TABLE eager $PGTABLE; INSERT INTO users SELECT * FROM seed;
        INSERT INTO eager SELECT * FROM seed; DELETE FROM baton_lazy_sweep;" \
        -c "VACUUM ANALYZE users" -c "VACUUM ANALYZE eager" ;;
    redis) redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null &&
        redis-cli -p "$REDIS_PORT" --pipe <"$T_DIR/users.redis" >/dev/null &&
        redis-cli -p "$REDIS_PORT" --pipe <"$T_DIR/eager.redis" >/dev/null ;;
    esac
}
EAGER_LUA='local n, cursor = 0, "0"
repeat
  local r = redis.call("SCAN", cursor, "MATCH", ARGV[1] .. ":*", "COUNT", 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    local d = cjson.decode(redis.call("GET", k))
    if d._version == 1 then
      if d.name ~= nil then d.full_name = d.name; d.name = nil end
      if d.counter == nil then d.counter = 0 end
      d.legacy = nil
      if type(d.tmp) == "table" then d.tmp.cache = nil end
      d._version = 3
      redis.call("SET", k, cjson.encode(d))
      n = n + 1
    end
  end
until cursor == "0"
return n'
# eager STORE: the change in one statement (one script on Redis); prints its seconds
eager() {
    case $1 in
    sqlite) "$T_DIR/bench_lazy" sqlite "$SQ" "PRAGMA synchronous=NORMAL; UPDATE eager SET rev = rev + 1, doc = json_set(json_remove(doc,
            '\$.name', '\$.legacy', '\$.tmp.cache'), '\$.full_name', json_extract(doc, '\$.name'),
            '\$.counter', 0, '\$._version', 3) WHERE json_extract(doc, '\$._version') = 1;" ;;
    postgres) "$T_DIR/bench_lazy" postgres "$PG_URL" "UPDATE eager SET rev = rev + 1, doc = ((doc - 'name' - 'legacy') #- '{tmp,cache}')
            || jsonb_build_object('full_name', doc -> 'name', 'counter', 0, '_version', 3)
            WHERE (doc ->> '_version')::int = 1;" ;;
    redis) "$T_DIR/bench_lazy" redis "$REDIS_PORT" "$EAGER_LUA" eager ;;
    esac | awk '{ print $2 }'
}
sweep_url() {
    case $1 in
    sqlite) echo "sqlite:$SQ#users" ;;
    postgres) echo "$PG_URL#users" ;;
    redis) echo "redis://127.0.0.1:$REDIS_PORT/users" ;;
    esac
}

for store in sqlite postgres redis; do
    : >"$T_DIR/$store.rounds"
    for round in $(seq 1 "$ROUNDS"); do
        reset $store >"$T_DIR/reset.out" 2>&1 || fail "reset $store: $(tail -3 "$T_DIR/reset.out")"
        # interleaved: odd rounds sweep first, even rounds the eager change first
        for what in $( [ $((round % 2)) = 1 ] && echo "sweep eager" || echo "eager sweep"); do
            if [ $what = sweep ]; then
                t=$("$T_DIR/bench_lazy" sweep "$(sweep_url $store)" "$CHAIN" "$DOCS" | awk '{ print $2 }')
            else
                t=$(eager $store)
            fi
            [ -n "$t" ] || fail "$what $store failed"
            eval "${what}_rate=\$(rate \"\$DOCS\" 0 \"\$t\")"
        done
        echo "$sweep_rate $eager_rate $(ratio "$sweep_rate" "$eager_rate")" >>"$T_DIR/$store.rounds"
    done
    s=$(cut -d' ' -f1 "$T_DIR/$store.rounds" | median)
    p=$(cut -d' ' -f2 "$T_DIR/$store.rounds" | median)
    r=$(cut -d' ' -f3 "$T_DIR/$store.rounds" | median)
    sp=$(cut -d' ' -f3 "$T_DIR/$store.rounds" | spread)
    if [ $store = redis ]; then
        row "sweep redis (docs/s, median)" "$s" "eager Lua script $p" "$r" "spread $sp, no goal"
    else
        row "sweep $store (docs/s, median)" "$s" "eager UPDATE $p" "$r" "spread $sp, goal $GOAL"
    fi
done
