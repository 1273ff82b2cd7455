#!/usr/bin/env bash
# Malformed documents (not JSON, `_version` missing, newer than the chain) are reported by
# name and skipped by sweep, get and status, and left byte for byte as they were, on
# SQLite, Redis and PostgreSQL (which cannot hold text that is not JSON). Also `check`'s
# messages for a bad chain, with the line at fault, and the verb's exit codes.
. "$(dirname "$0")/lib.sh"
redis_start
pg_start

# check: the line at fault
sed 's/"version": 3/"version": 5/' "$CHAIN" >"$T_DIR/gap.json"
sed 's/"step": "remove"/"step": "frobnicate"/' "$CHAIN" >"$T_DIR/unknown.json"
out=$("$BATON" lazy check "$T_DIR/gap.json" 2>&1); rc=$?
[ $rc = 1 ] && [ "$out" = "baton lazy: $T_DIR/gap.json:8: version 5 follows version 2: gap, version 3 is missing" ] ||
    fail "gap: rc $rc: $out"
out=$("$BATON" lazy check "$T_DIR/unknown.json" 2>&1); rc=$?
[ $rc = 1 ] && [ "$out" = "baton lazy: $T_DIR/unknown.json:9: step 'frobnicate' is unknown (known: add, rename, remove, copy, move, custom)" ] ||
    fail "unknown step: rc $rc: $out"
out=$("$BATON" lazy check "$CHAIN" 2>&1) && [ "$out" = "$CHAIN: ok, versions 1 to 4, 5 steps" ] ||
    fail "good chain: $out"
"$BATON" lazy --help | grep 'exit codes' >/dev/null || fail "--help"
"$BATON" lazy sweep --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "a bad option must exit 2"
"$BATON" lazy sweep --store "sqlite:$T_DIR/x.db#t" >/dev/null 2>&1; [ $? = 2 ] || fail "a missing --chain must exit 2"

for store in sqlite redis postgres; do
    users=$(lz_url $store users)
    lz_seed 20 | "$BATON" lazy load --store "$users" >/dev/null 2>>"$T_DIR/baton.log" || fail "$store: load"
    bad=(b-noversion '{"name":"x","legacy":true}' b-newer '{"_version":9,"name":"y"}'
         b-string '{"_version":"2","name":"z"}')
    [ $store = postgres ] || bad+=(b-notjson '{"_version":1,"name":')
    for ((i = 0; i < ${#bad[@]}; i += 2)); do
        "$BATON" lazy put --raw --store "$users" "${bad[i]}" "${bad[i + 1]}" 2>>"$T_DIR/baton.log" ||
            fail "$store: put ${bad[i]}"
    done
    nbad=$((${#bad[@]} / 2))
    "$BATON" lazy dump --store "$users" | grep '^b-' >"$T_DIR/$store-bad-before"
    out=$("$BATON" lazy get --store "$users" --chain "$CHAIN" b-newer 2>&1); rc=$?
    [ $rc = 1 ] && [ "$out" = "baton lazy: document 'b-newer': '_version' 9 is newer than the chain's latest version 4" ] ||
        fail "$store: get b-newer: rc $rc: $out"
    "$BATON" lazy sweep --json --store "$users" --chain "$CHAIN" >"$T_DIR/$store-sweep.out" 2>"$T_DIR/$store-sweep.err"
    rc=$?
    [ $rc = 1 ] || fail "$store: a sweep that skipped documents must exit 1 (got $rc)"
    [ "$(jq .malformed "$T_DIR/$store-sweep.out")" = $nbad ] && [ "$(jq .upgraded "$T_DIR/$store-sweep.out")" = 20 ] ||
        fail "$store: sweep: $(cat "$T_DIR/$store-sweep.out")"
    grep -qx "baton lazy: skipped document 'b-noversion': '_version' is missing" "$T_DIR/$store-sweep.err" &&
        grep -qx "baton lazy: skipped document 'b-string': '_version' is not an integer" "$T_DIR/$store-sweep.err" &&
        grep -qx "baton lazy: skipped document 'b-newer': '_version' 9 is newer than the chain's latest version 4" "$T_DIR/$store-sweep.err" ||
        fail "$store: skipped documents not reported: $(cat "$T_DIR/$store-sweep.err")"
    [ $store = postgres ] || grep -q "^baton lazy: skipped document 'b-notjson': not JSON" "$T_DIR/$store-sweep.err" ||
        fail "$store: not-JSON document not reported"
    [ "$(wc -l <"$T_DIR/$store-sweep.err")" = $nbad ] || fail "$store: each skip reported once: $(cat "$T_DIR/$store-sweep.err")"
    "$BATON" lazy dump --store "$users" | grep '^b-' >"$T_DIR/$store-bad-after"
    cmp -s "$T_DIR/$store-bad-before" "$T_DIR/$store-bad-after" || fail "$store: a malformed document was rewritten"
    st=$(lz_status "$users")
    want='{"not_json":1,"no_version":2,"older":0,"newer":1}'
    [ $store = postgres ] && want='{"not_json":0,"no_version":2,"older":0,"newer":1}'
    [ "$(jq -c .malformed <<<"$st")" = "$want" ] && [ "$(jq '.versions["4"]' <<<"$st")" = 20 ] ||
        fail "$store: status: $st"
    log "$store: $nbad malformed documents reported, skipped and left unchanged"
done
