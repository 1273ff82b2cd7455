#!/usr/bin/env bash
# The tests' free_port (tests/lib/common.sh): the kernel may hand a released port out
# again at once, which once gave one test two backends on one address (a failed
# t_prometheus_workers beside another make check). 20 ports taken in one test are all
# different and all claimed by this test, and a claimed port is not claimed again; a
# test that ends gives its claims back; a claim left by a test that is gone (kill -9) is
# taken over, one of a live test is not.
. "$(dirname "$0")/../../lib/common.sh"

seq 1 20 | while read -r _; do free_port || exit 1; done >"$T_DIR/ports" ||
    fail "free_port failed"
[ "$(wc -l <"$T_DIR/ports")" = 20 ] || fail "free_port gave $(wc -l <"$T_DIR/ports") ports, not 20"
dups=$(sort "$T_DIR/ports" | uniq -d | head -5 | tr '\n' ' ')
[ -z "$dups" ] || fail "free_port gave one port twice in a test: $dups"
while read -r p; do
    [ "$(cat "$T_PORTS_DIR/$p/pid" 2>/dev/null)" = $$ ] || fail "port $p is not claimed by this test"
done <"$T_DIR/ports"

# a test that ends (passing) gives its ports back
child=$(BATON=$BATON bash -c '. "$1"; free_port; free_port' _ "$(dirname "$0")/../../lib/common.sh") ||
    fail "a child test's free_port failed"
for p in $child; do
    [ ! -e "$T_PORTS_DIR/$p" ] || fail "port $p is still claimed after its test ended"
done

# a claim whose test is gone (kill -9: no cleanup ran) is taken over; a live test's is not
sleep 0 &
dead=$!
wait $dead
sleep 600 &
live=$!
track $live
port=$(free_port) || fail "free_port failed"
rm -rf "${T_PORTS_DIR:?}/$port"
mkdir "$T_PORTS_DIR/$port" && echo $live >"$T_PORTS_DIR/$port/pid"
_t_claim_port "$port" && fail "port $port was taken from a live test"
echo $dead >"$T_PORTS_DIR/$port/pid"
_t_claim_port "$port" || fail "port $port, claimed by a test that is gone, was not taken over"
[ "$(cat "$T_PORTS_DIR/$port/pid")" = $$ ] || fail "port $port is not claimed by this test after the take-over"
_t_claim_port "$port" && fail "port $port was claimed twice by this test"
log "20 distinct ports claimed, released at the end of their test; stale claims taken over"
