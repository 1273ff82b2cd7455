#!/usr/bin/env bash
# The set-based sweep (a batch upgraded by one SQL statement) writes the same documents,
# moved parts and reports as the per-document path (the same chain ending with a custom
# step that does nothing, which no SQL can run): byte for byte on SQLite and PostgreSQL,
# over every declarative step, nested paths, a split into a second collection, documents
# at each version and ones a step cannot take. Redis (one by one only) and SQLite agree
# byte for byte, PostgreSQL (jsonb's own text) JSON-equal. A number written 1.50 keeps
# that text through SQL (1.5 one by one), which shows the SQL ran. A chain with a custom
# step before declarative ones: documents before it go one by one, later ones by SQL.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/redis.sh"
. "$(dirname "$0")/../../lib/pg.sh"
. "$(dirname "$0")/lib.sh"
redis_start
pg_start
cc -std=c17 -Wall -Werror -shared -fPIC -I"$LZ_REPO/include" $(pkg-config --cflags jansson) \
    -o "$T_DIR/plugin.so" "$LZ_HERE/plugin_steps.c" 2>"$T_DIR/cc.log" || fail "plugin: $(cat "$T_DIR/cc.log")"
PLUGIN=(--plugin "$T_DIR/plugin.so")

# the chain, and the same one done per document (same lines for the same steps)
jq . "$LZ_HERE/chain_every.json" >"$T_DIR/set.json"
jq '.versions[-1].steps += [{"step": "custom", "name": "noop"}]
    | (.versions[].steps[] | select(.step == "move") | .to) |= "kids_pd"' \
    "$LZ_HERE/chain_every.json" >"$T_DIR/pd.json"
bulk() {
    awk 'BEGIN { for (i = 0; i < 400; i++)
        printf "b%04d\t{\"_version\":%d,\"name\":\"user %d\",\"email\":\"u%d@x\",\"legacy\":true,\"tmp\":{\"cache\":%d,\"keep\":1},\"street\":\"%d Main St\",\"city\":\"Oslo\",\"a\":{\"b\":%d}}\n", i, 1 + i % 3, i, i, i, i, i }'
}

for store in sqlite postgres redis; do
    for how in set pd; do
        users=$(lz_url $store "users_$how")
        { bulk; cat "$LZ_HERE/docs_every.tsv"; } | "$BATON" lazy load --raw --store "$users" \
            >/dev/null 2>>"$T_DIR/baton.log" || fail "$store: load"
        if [ $store != postgres ]; then # jsonb cannot hold it
            "$BATON" lazy put --raw --store "$users" e22 'not json' 2>>"$T_DIR/baton.log" || fail "$store: put"
        fi
        plugin=()
        [ $how = pd ] && plugin=("${PLUGIN[@]}")
        "$BATON" lazy sweep "${plugin[@]}" --json --batch 7 --store "$users" --chain "$T_DIR/$how.json" \
            >"$T_DIR/$store-$how.out" 2>"$T_DIR/$store-$how.err"
        [ $? = 1 ] || fail "$store $how: a sweep that skipped documents must exit 1: $(tail -3 "$T_DIR/$store-$how.err")"
        jq -e '.complete' "$T_DIR/$store-$how.out" >/dev/null || fail "$store $how: $(cat "$T_DIR/$store-$how.out")"
        "$BATON" lazy dump --store "$users" >"$T_DIR/$store-$how.users"
        kids=kids
        [ $how = pd ] && kids=kids_pd
        "$BATON" lazy dump --store "$(lz_url $store $kids)" >"$T_DIR/$store-$how.kids"
        grep '^baton lazy: skipped' "$T_DIR/$store-$how.err" | sed "s|$T_DIR/$how.json|CHAIN|" | sort >"$T_DIR/$store-$how.skips"
    done
    for what in users kids skips; do
        cmp -s "$T_DIR/$store-set.$what" "$T_DIR/$store-pd.$what" ||
            fail "$store: set-based and per-document $what differ: $(diff "$T_DIR/$store-set.$what" "$T_DIR/$store-pd.$what" | head -6)"
    done
    [ "$(jq -c '{upgraded, malformed}' "$T_DIR/$store-set.out")" = "$(jq -c '{upgraded, malformed}' "$T_DIR/$store-pd.out")" ] ||
        fail "$store: reports differ: $(cat "$T_DIR/$store-set.out" "$T_DIR/$store-pd.out")"
    [ "$(grep -c . "$T_DIR/$store-set.kids")" -ge 250 ] || fail "$store: too few moved parts"
    log "$store: $(jq -c '{upgraded, malformed}' "$T_DIR/$store-set.out") the same both ways, $(wc -l <"$T_DIR/$store-set.kids") parts"
done
# what the chain promises, on a few
grep -qxF "e01	{\"_version\":4,\"tmp\":{\"y\":2},\"a\":{},\"full_name\":\"Ann\",\"prefs\":{\"theme\":\"dark\"},\"contact\":{\"email\":\"a@x\"},\"tags\":[1,{\"z\":null}],\"c\":{\"deep\":[1,2]},\"shown\":{\"name\":\"Ann\"}}" \
    "$T_DIR/sqlite-set.users" || fail "e01: $(grep ^e01 "$T_DIR/sqlite-set.users")"
grep -qxF "e06	{\"street\":null,\"owner\":\"e06\",\"_version\":1}" "$T_DIR/sqlite-set.kids" || fail "e06's part"
cmp -s "$T_DIR/sqlite-set.users" "$T_DIR/redis-pd.users" && cmp -s "$T_DIR/sqlite-set.kids" "$T_DIR/redis-pd.kids" ||
    fail "sqlite (SQL) and redis differ: $(diff "$T_DIR/sqlite-set.users" "$T_DIR/redis-pd.users" | head -4)"
grep -v '^e22	' "$T_DIR/sqlite-set.users" | lz_norm >"$T_DIR/sqlite.norm"
lz_norm <"$T_DIR/postgres-set.users" >"$T_DIR/postgres.norm"
cmp -s "$T_DIR/sqlite.norm" "$T_DIR/postgres.norm" || fail "sqlite and postgres differ: $(diff "$T_DIR/sqlite.norm" "$T_DIR/postgres.norm" | head -4)"

# which path ran: SQL keeps the number's text, one by one it is jansson's
for store in sqlite postgres; do
    for how in set pd; do
        plugin=()
        [ $how = pd ] && plugin=("${PLUGIN[@]}")
        fp=$(lz_url $store "fp_$how")
        "$BATON" lazy put --store "$fp" f1 '{"_version":3,"a":{"b":1.50}}' 2>>"$T_DIR/baton.log" || fail "$store: put"
        "$BATON" lazy sweep "${plugin[@]}" --store "$fp" --chain "$T_DIR/$how.json" >/dev/null 2>>"$T_DIR/baton.log" ||
            fail "$store: fingerprint sweep"
        "$BATON" lazy dump --store "$fp" >"$T_DIR/fp-$how"
    done
    grep -q '"c": *1\.50[,}]' "$T_DIR/fp-set" || fail "$store: the set-based sweep did not run: $(cat "$T_DIR/fp-set")"
    grep -q '"c": *1\.5[,}]' "$T_DIR/fp-pd" || fail "$store: per document: $(cat "$T_DIR/fp-pd")"
done

# a custom step (version 2) before declarative ones (3): documents at 1 go one by one
# (tagged, 1.5), those at 2 by SQL (1.50 kept, not tagged)
for store in sqlite postgres; do
    mixed=$(lz_url $store mixed)
    awk 'BEGIN { for (i = 0; i < 40; i++) printf "m%02d\t{\"_version\":%d,\"n\":1.50,\"i\":%d}\n", i, 1 + i % 2, i }' |
        "$BATON" lazy load --store "$mixed" >/dev/null 2>>"$T_DIR/baton.log" || fail "$store: load mixed"
    out=$("$BATON" lazy sweep "${PLUGIN[@]}" --json --batch 9 --store "$mixed" --chain "$LZ_HERE/chain_mixed.json" 2>>"$T_DIR/baton.log") ||
        fail "$store: mixed sweep failed"
    [ "$(jq .upgraded <<<"$out")" = 40 ] || fail "$store: mixed: $out"
    "$BATON" lazy dump --store "$mixed" >"$T_DIR/$store-mixed"
    [ "$(grep -c '"tagged": *true' "$T_DIR/$store-mixed")" = 20 ] || fail "$store: tagged: $(head -3 "$T_DIR/$store-mixed")"
    [ "$(grep -c '"m": *1\.50[,}]' "$T_DIR/$store-mixed")" = 20 ] || fail "$store: by SQL: $(head -3 "$T_DIR/$store-mixed")"
    [ "$(grep '"m": *1\.50[,}]' "$T_DIR/$store-mixed" | grep -c tagged)" = 0 ] || fail "$store: SQL ran the custom step's documents"
    [ "$(jq -R 'split("\t")[1] | fromjson | select(._version == 3 and .k == 0)' "$T_DIR/$store-mixed" | jq -s length)" = 40 ] ||
        fail "$store: mixed: not all at version 3"
    log "$store: mixed chain: 20 one by one (custom step), 20 by SQL"
done
