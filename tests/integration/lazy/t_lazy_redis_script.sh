#!/usr/bin/env bash
# Redis runs the compare-and-set script by its SHA1 (EVALSHA, never EVAL), loaded once
# per connection, and loads it again when the server has forgotten it (NOSCRIPT, after a
# restart or SCRIPT FLUSH): a sweep whose pipelined writes all meet NOSCRIPT, then a
# single update, both succeed and leave exactly the documents the chain promises.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/redis.sh"
. "$(dirname "$0")/lib.sh"
redis_start
lz_cc redis_script
N=300
lz_seed $N | "$BATON" lazy load --store "$(lz_url redis users)" >/dev/null 2>>"$T_DIR/baton.log" || fail "load"
redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT >/dev/null
out=$("$T_DIR/redis_script" "$REDIS_PORT" users "$CHAIN" d00007 2>>"$T_DIR/baton.log") ||
    fail "the client failed after SCRIPT FLUSH: $(tail -2 "$T_DIR/baton.log")"
[ "$out" = "$(printf 'sweep upgraded %d complete 1\nupdate ok' $N)" ] || fail "client: $out"
stats=$(redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r')
calls() { sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" <<<"$stats"; }
[ -z "$(calls eval)" ] || fail "EVAL was used $(calls eval) times"
[ "$(calls evalsha)" -ge $((N + 1)) ] || fail "EVALSHA calls: $(calls evalsha)"
[ "$(calls 'script|load')" = 3 ] || fail "script loads: $(calls 'script|load') (want: at the open, after each flush)"
"$BATON" lazy dump --store "$(lz_url redis users)" | lz_norm >"$T_DIR/got"
lz_expected_parent $N | sed 's/^\["d00007",{"_version":4,/&"bumped":true,/' >"$T_DIR/want"
cmp -s "$T_DIR/want" "$T_DIR/got" || fail "documents: $(diff "$T_DIR/want" "$T_DIR/got" | head -4)"
[ "$("$BATON" lazy dump --store "$(lz_url redis addresses)" | grep -c .)" = $N ] || fail "moved parts"
log "$(calls evalsha) EVALSHA, $(calls 'script|load') script loads (2 after NOSCRIPT), no EVAL; documents as the chain makes them"
