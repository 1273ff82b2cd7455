#!/usr/bin/env bash
# Benchmarks of libbaton-lazy (bench/lazy/run.sh BUILD_DIR, e.g. build/rel): the cost of
# one upgrade step on a 1 KB document (goal <= 2 us), the read path on an already current
# document against a plain read of the same store, and sweep documents/s against the same
# change done as one eager SQL UPDATE, on SQLite, Redis and PostgreSQL (servers started
# in a temporary directory). Prints a table; never fails on speed.
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
CHAIN=$HERE/chain_bench.json

cc -std=c17 -O2 -Wall -Werror -I"$REPO/include" -o "$T_DIR/bench_lazy" "$HERE/bench_lazy.c" \
    "$BUILD/libbaton-lazy.a" $(pkg-config --libs jansson sqlite3 libpq hiredis) ||
    fail "cannot build bench_lazy"
redis_start >/dev/null 2>&1
pg_start >/dev/null 2>&1

row() { printf '%-44s %16s %24s %8s\n' "$@"; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# About 1 KB per document at version 1.
seed() {
    awk -v n="$DOCS" 'BEGIN { pad = sprintf("%0850d", 0); for (i = 0; i < n; i++)
        printf "d%06d\t{\"_version\":1,\"name\":\"user %d\",\"legacy\":true,\"tmp\":{\"cache\":%d,\"keep\":1},\"pad\":\"%s\"}\n", i, i, i, pad }'
}

echo "libbaton-lazy benchmarks ($DOCS documents of ~1 KB for sweeps, $READS reads)"
row "measure" "baton lazy" "peer" "ratio"
read -r _ step whole bytes < <("$T_DIR/bench_lazy" steps)
row "upgrade step, ${bytes} B document (ns/step)" "$step" "goal 2000" "$(ratio "$step" 2000)"
row "parse + 4 steps + serialize (ns/doc)" "$whole" "-" "-"

for store in sqlite redis postgres; do
    case $store in
    sqlite) url="sqlite:$T_DIR/read.db#users" ;;
    redis) url="redis://127.0.0.1:$REDIS_PORT/users" ;;
    postgres) url="$PG_URL#users" ;;
    esac
    read -r _ plain lazy < <("$T_DIR/bench_lazy" read "$url" "$CHAIN" "$READS")
    row "read current doc, $store (ns/read)" "$lazy" "plain read $plain" "$(ratio "$lazy" "$plain")"
done

# Sweep against one eager UPDATE doing the same change (rename name, add counter, remove
# legacy and tmp.cache, set _version 3).
for store in sqlite postgres; do
    case $store in
    sqlite) url="sqlite:$T_DIR/sweep.db#users" eager="sqlite:$T_DIR/sweep.db#eager" ;;
    postgres) url="$PG_URL#users" eager="$PG_URL#eager" ;;
    esac
    seed | "$BUILD/baton" lazy load --store "$url" >/dev/null || fail "load $store"
    seed | "$BUILD/baton" lazy load --store "$eager" >/dev/null || fail "load $store eager"
    t0=$(now)
    "$BUILD/baton" lazy sweep --batch 500 --store "$url" --chain "$CHAIN" >/dev/null || fail "sweep $store"
    t1=$(now)
    if [ $store = sqlite ]; then
        "$T_DIR/bench_lazy" sqlite "$T_DIR/sweep.db" "UPDATE eager SET rev = rev + 1, doc = json_set(json_remove(doc,
            '\$.name', '\$.legacy', '\$.tmp.cache'), '\$.full_name', json_extract(doc, '\$.name'),
            '\$.counter', 0, '\$._version', 3) WHERE json_extract(doc, '\$._version') = 1;" ||
            fail "eager sqlite"
    else
        psql -q -v ON_ERROR_STOP=1 "$PG_URL" -c "UPDATE eager SET rev = rev + 1, doc = ((doc - 'name' - 'legacy') #- '{tmp,cache}')
            || jsonb_build_object('full_name', doc -> 'name', 'counter', 0, '_version', 3)
            WHERE (doc ->> '_version')::int = 1;" || fail "eager postgres"
    fi
    t2=$(now)
    lazy_rate=$(rate "$DOCS" "$t0" "$t1")
    eager_rate=$(rate "$DOCS" "$t1" "$t2")
    row "sweep $store (docs/s)" "$lazy_rate" "eager UPDATE $eager_rate" "$(ratio "$lazy_rate" "$eager_rate")"
done
