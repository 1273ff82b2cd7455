#!/usr/bin/env bash
# 16 writer processes increment counters through the library (lazy_update: read,
# upgrade, modify, compare-and-set) while a sweep upgrades the collection and new
# version-1 documents arrive mid-sweep: on SQLite, Redis and PostgreSQL, every counter
# equals the increments made (0 lost updates) and every document ends at version 4.
. "$(dirname "$0")/lib.sh"
redis_start
pg_start
lz_build_counter

N=2000 WRITERS=16 INCR=40
hot=()
for i in $(seq 0 50 $((N - 1))); do hot+=("$(printf 'd%05d' "$i")"); done
for store in sqlite redis postgres; do
    users=$(lz_url $store users)
    lz_seed $N | "$BATON" lazy load --store "$users" >/dev/null 2>>"$T_DIR/baton.log" ||
        fail "$store: load failed"
    # first half of the sweep, then stop (position saved)
    "$BATON" lazy sweep --batch 25 --max-docs 500 --store "$users" --chain "$CHAIN" \
        >"$T_DIR/$store-sweep1.out" 2>>"$T_DIR/baton.log" || fail "$store: first sweep failed"
    # documents added while the sweep is paused, before and after its position
    { lz_seed 100 a; lz_seed 100 z; } | "$BATON" lazy load --store "$users" >/dev/null \
        2>>"$T_DIR/baton.log" || fail "$store: second load failed"
    pids=()
    for w in $(seq 1 $WRITERS); do
        "$T_DIR/lazy_counter" "$users" "$CHAIN" $INCR "${hot[@]}" >"$T_DIR/$store-w$w.out" \
            2>>"$T_DIR/writers.log" &
        pids+=($!)
        track $!
    done
    "$BATON" lazy sweep --json --batch 25 --rate 4000 --store "$users" --chain "$CHAIN" \
        >"$T_DIR/$store-sweep2.out" 2>>"$T_DIR/baton.log" || fail "$store: sweep failed"
    for p in "${pids[@]}"; do wait "$p" || fail "$store: a writer failed: $(tail -3 "$T_DIR/writers.log")"; done
    jq -e '.resumed and .complete' "$T_DIR/$store-sweep2.out" >/dev/null ||
        fail "$store: sweep did not resume and complete: $(cat "$T_DIR/$store-sweep2.out")"
    # every increment a writer made is in the store
    cat "$T_DIR/$store"-w*.out | awk '{ n[$1] += $2 } END { for (k in n) print k, n[k] }' |
        sort >"$T_DIR/$store-made"
    made=$(awk '{ s += $2 } END { print s }' "$T_DIR/$store-made")
    [ "$made" = $((WRITERS * INCR)) ] || fail "$store: writers report $made increments"
    "$BATON" lazy dump --store "$users" |
        jq -R -r 'split("\t") as $p | ($p[1] | fromjson) as $d | select($d.counter > 0) | "\($p[0]) \($d.counter)"' |
        sort >"$T_DIR/$store-stored"
    diff "$T_DIR/$store-made" "$T_DIR/$store-stored" >"$T_DIR/$store-lost.diff" ||
        fail "$store: lost updates: $(head -5 "$T_DIR/$store-lost.diff")"
    st=$(lz_status "$users")
    [ "$(jq -c .versions <<<"$st")" = '{"1":0,"2":0,"3":0,"4":2200}' ] ||
        fail "$store: not all documents upgraded: $st"
    [ "$("$BATON" lazy dump --store "$(lz_url $store addresses)" | wc -l)" = 2200 ] ||
        fail "$store: moved parts missing"
    log "$store: $made increments by $WRITERS writers during the sweep, 0 lost; $(jq -c '{upgraded, conflicts, passes}' "$T_DIR/$store-sweep2.out")"
done
