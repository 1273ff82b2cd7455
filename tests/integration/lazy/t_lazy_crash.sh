#!/usr/bin/env bash
# kill -9 during a sweep, then sweep again: on SQLite, Redis and PostgreSQL every document
# ends at the latest version with exactly the content of an uninterrupted sweep of the
# same data (the chain re-adds 'name', so a document upgraded twice would differ).
. "$(dirname "$0")/lib.sh"
redis_start
pg_start

N=2000
# polled with the release binary: quick, so the kill lands early in the sweep
v4_count() { "$BATON_REL" lazy status --json --store "$1" --chain "$CHAIN" | jq '.versions["4"]'; }
progressed() { [ "$(v4_count "$users")" -ge 300 ]; }
for store in sqlite redis postgres; do
    users=$(lz_url $store users) ref=$(lz_url $store users_ref)
    lz_seed $N | "$BATON" lazy load --store "$users" >/dev/null 2>>"$T_DIR/baton.log" || fail "$store: load"
    lz_seed $N | "$BATON" lazy load --store "$ref" >/dev/null 2>>"$T_DIR/baton.log" || fail "$store: load ref"
    "$BATON" lazy sweep --store "$ref" --chain "$CHAIN_REF" >/dev/null 2>>"$T_DIR/baton.log" ||
        fail "$store: reference sweep failed"
    # a throttled sweep, killed once it has made progress
    "$BATON_REL" lazy sweep --batch 50 --rate 500 --store "$users" --chain "$CHAIN" \
        >"$T_DIR/$store-killed.out" 2>>"$T_DIR/baton.log" &
    sweeper=$!
    track $sweeper
    wait_for 30 progressed || fail "$store: the sweep made no progress"
    kill -9 $sweeper
    wait $sweeper 2>/dev/null
    before=$(lz_status "$users")
    [ "$(jq '.versions["1"]' <<<"$before")" -gt 0 ] || fail "$store: killed too late: $before"
    out=$("$BATON" lazy sweep --json --batch 50 --store "$users" --chain "$CHAIN" 2>>"$T_DIR/baton.log") ||
        fail "$store: sweep after the crash failed"
    jq -e '.resumed and .complete' <<<"$out" >/dev/null || fail "$store: did not resume: $out"
    [ "$(v4_count "$users")" = $N ] || fail "$store: not all at version 4: $(lz_status "$users")"
    "$BATON" lazy dump --store "$users" | lz_norm >"$T_DIR/$store-users"
    "$BATON" lazy dump --store "$ref" | lz_norm >"$T_DIR/$store-ref"
    cmp -s "$T_DIR/$store-users" "$T_DIR/$store-ref" ||
        fail "$store: content differs from an uninterrupted sweep: $(diff "$T_DIR/$store-ref" "$T_DIR/$store-users" | head -4)"
    "$BATON" lazy dump --store "$(lz_url $store addresses)" | lz_norm >"$T_DIR/$store-addr"
    "$BATON" lazy dump --store "$(lz_url $store addresses_ref)" | lz_norm >"$T_DIR/$store-addr-ref"
    cmp -s "$T_DIR/$store-addr" "$T_DIR/$store-addr-ref" && [ "$(wc -l <"$T_DIR/$store-addr")" = $N ] ||
        fail "$store: moved parts differ from an uninterrupted sweep"
    log "$store: killed at $(jq -c .versions <<<"$before"), resumed: $(jq -c '{upgraded, current}' <<<"$out")"
done
