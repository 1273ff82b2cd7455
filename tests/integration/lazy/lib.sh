# Helpers of the lazy integration tests (sources tests/lib/common.sh, redis.sh and
# pg.sh): seed data, the chain, the store URLs, dump normalization, and the example
# writer program.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/redis.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/pg.sh"
LZ_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LZ_REPO=$(cd "$LZ_HERE/../../.." && pwd)
: "${BATON_REL:=$BATON}"            # release binary, when the runner gives one
CHAIN=$LZ_HERE/chain.json          # v1 -> v4: rename + add, remove, move (split) + add
CHAIN_REF=$LZ_HERE/chain_ref.json  # the same, moving into 'addresses_ref'

# lz_seed N [PREFIX]: N version-1 documents as ID<TAB>JSON lines (dump/load format).
lz_seed() {
    awk -v n="$1" -v p="${2:-d}" 'BEGIN { for (i = 0; i < n; i++)
        printf "%s%05d\t{\"_version\":1,\"name\":\"user %d\",\"legacy\":true,\"tmp\":{\"cache\":%d,\"keep\":1},\"street\":\"%d Main St\",\"city\":\"Oslo\"}\n", p, i, i, i, i }'
}

# What the chain makes of lz_seed's documents: the parent and the moved child.
lz_expected_parent() {
    awk -v n="$1" -v p="${2:-d}" 'BEGIN { for (i = 0; i < n; i++)
        printf "%s%05d\t{\"_version\":4,\"full_name\":\"user %d\",\"counter\":0,\"tmp\":{\"keep\":1},\"name\":\"\"}\n", p, i, i }' | lz_norm
}
lz_expected_child() {
    awk -v n="$1" -v p="${2:-d}" 'BEGIN { for (i = 0; i < n; i++)
        printf "%s%05d\t{\"street\":\"%d Main St\",\"city\":\"Oslo\",\"user_id\":\"%s%05d\",\"_version\":1}\n", p, i, i, p, i }' | lz_norm
}

# Normalizes a dump (ID<TAB>JSON) to one sorted-key JSON array per line, for diffs.
lz_norm() { jq -R -c -S 'split("\t") as $p | [$p[0], ($p[1] | fromjson)]'; }

# lz_url STORE COLLECTION: the store URL of a collection (sqlite, redis or postgres).
lz_url() {
    case "$1" in
    sqlite) echo "sqlite:$T_DIR/db.sqlite#$2" ;;
    redis) echo "redis://127.0.0.1:$REDIS_PORT/$2" ;;
    postgres) echo "$PG_URL#$2" ;;
    esac
}

# lz_versions URL: "V:COUNT ..." of documents per version, then malformed counts.
lz_status() { "$BATON" lazy status --json --store "$1" --chain "${2:-$CHAIN}" 2>>"$T_DIR/baton.log"; }

# Builds the example program (examples/lazy/lazy_counter.c) against build/rel's .so.
# The .so's soname is libbaton-lazy.so.1, as installed; a link of that name in $T_DIR/lib.
lz_build_counter() {
    mkdir -p "$T_DIR/lib"
    ln -sf "$LZ_REPO/build/rel/libbaton-lazy.so" "$T_DIR/lib/libbaton-lazy.so.1"
    cc -std=c17 -O1 -Wall -Werror -I"$LZ_REPO/include" -o "$T_DIR/lazy_counter" \
        "$LZ_REPO/examples/lazy/lazy_counter.c" -L"$LZ_REPO/build/rel" -lbaton-lazy \
        -Wl,-rpath,"$T_DIR/lib" $(pkg-config --cflags --libs jansson) ||
        fail "cannot build examples/lazy/lazy_counter.c"
}

# lz_cc NAME: builds the test helper $LZ_HERE/NAME.c against build/rel's static library.
lz_cc() {
    cc -std=c17 -O1 -Wall -Werror -I"$LZ_REPO/include" -o "$T_DIR/$1" "$LZ_HERE/$1.c" \
        "$LZ_REPO/build/rel/libbaton-lazy.a" $(pkg-config --cflags --libs jansson sqlite3 libpq hiredis) \
        2>"$T_DIR/cc.log" || fail "cannot build $1.c: $(cat "$T_DIR/cc.log")"
}
