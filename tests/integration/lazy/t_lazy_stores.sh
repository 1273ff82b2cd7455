#!/usr/bin/env bash
# The 3-step chain (rename, removal, split into 'addresses') applied on read (`get`) to
# some documents and by `sweep` to the rest gives the same documents on SQLite, Redis
# and PostgreSQL, equal to what the chain promises.
. "$(dirname "$0")/lib.sh"
redis_start
pg_start

N=300
lz_expected_parent $N >"$T_DIR/want-users"
lz_expected_child $N >"$T_DIR/want-addresses"
for store in sqlite redis postgres; do
    users=$(lz_url $store users)
    lz_seed $N | "$BATON" lazy load --store "$users" >/dev/null 2>>"$T_DIR/baton.log" ||
        fail "$store: load failed"
    [ "$(lz_status "$users" | jq -c .versions)" = '{"1":300,"2":0,"3":0,"4":0}' ] ||
        fail "$store: status before: $(lz_status "$users")"
    # read path: every 30th document upgraded by get (and written back)
    for i in $(seq 0 30 $((N - 1))); do
        id=$(printf 'd%05d' "$i")
        got=$("$BATON" lazy get --store "$users" --chain "$CHAIN" "$id" 2>>"$T_DIR/baton.log") ||
            fail "$store: get $id failed"
        [ "$(jq -c -S . <<<"$got")" = "$(jq -c -S . <<<"{\"_version\":4,\"full_name\":\"user $i\",\"counter\":0,\"tmp\":{\"keep\":1},\"name\":\"\"}")" ] ||
            fail "$store: get $id returned $got"
    done
    [ "$(lz_status "$users" | jq -c .versions)" = '{"1":290,"2":0,"3":0,"4":10}' ] ||
        fail "$store: get did not write back: $(lz_status "$users")"
    out=$("$BATON" lazy sweep --json --batch 40 --store "$users" --chain "$CHAIN" 2>>"$T_DIR/baton.log") ||
        fail "$store: sweep failed"
    [ "$(jq .upgraded <<<"$out")" = 290 ] || fail "$store: sweep upgraded: $out"
    [ "$(lz_status "$users" | jq -c .versions)" = '{"1":0,"2":0,"3":0,"4":300}' ] ||
        fail "$store: status after: $(lz_status "$users")"
    "$BATON" lazy dump --store "$users" | lz_norm >"$T_DIR/$store-users"
    "$BATON" lazy dump --store "$(lz_url $store addresses)" | lz_norm >"$T_DIR/$store-addresses"
    diff -q "$T_DIR/want-users" "$T_DIR/$store-users" >/dev/null ||
        fail "$store: users differ: $(diff "$T_DIR/want-users" "$T_DIR/$store-users" | head -5)"
    diff -q "$T_DIR/want-addresses" "$T_DIR/$store-addresses" >/dev/null ||
        fail "$store: addresses differ: $(diff "$T_DIR/want-addresses" "$T_DIR/$store-addresses" | head -5)"
    # a second sweep finds nothing to do
    out=$("$BATON" lazy sweep --json --store "$users" --chain "$CHAIN" 2>>"$T_DIR/baton.log")
    [ "$(jq .upgraded <<<"$out")" = 0 ] || fail "$store: second sweep upgraded: $out"
    log "$store: 10 upgraded on read, 290 by sweep, documents as expected"
done
cmp -s "$T_DIR/sqlite-users" "$T_DIR/redis-users" && cmp -s "$T_DIR/sqlite-users" "$T_DIR/postgres-users" ||
    fail "stores disagree"
