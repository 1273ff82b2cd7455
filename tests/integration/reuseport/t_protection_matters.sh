#!/usr/bin/env bash
# What the protection of --mode reuseport is for, in a network namespace of the test's
# own (tcp_migrate_req off): 20 upgrades under --close load (a new connection per
# request, 32 at a time) with each protection, one master after the other:
#   --protect none              the old generation's close resets what waits in its
#                               accept queue: the failures are recorded (how many
#                               depends on timing, so they are not asserted);
#   --protect bpf               0 failed requests;
#   --protect tcp-migrate-req   at most 1 failed request (the sysctl is turned on by
#                               baton, in this namespace only; rp_check_migrate_req
#                               says why one is allowed, and logs it).
# Status and the log name each protection. Readiness: http:/ with bpf, connect without
# (an http check needs BPF to reach the new worker alone).
RP_OWN_NETNS=1
. "$(dirname "$0")/lib.sh"

[ "$(rp_sysctl)" = 0 ] || fail "tcp_migrate_req is on in a new namespace"
run_one() {
    local protect=$1 want=$2 ready=$3
    master_start --mode reuseport --protect "$protect" --ready "$ready" --drain-timeout 30 \
        -- "$APP" --version v1
    rp_protection | grep "^$want: " >/dev/null || fail "status names '$(rp_protection)', expected $want"
    grep -q "reuseport protection: $want: " "$T_DIR/master.log" || fail "the log does not name $want"
    rp_upgrades_under_close "load-$protect" 20 32
    master_stop
    mv "$T_DIR/master.log" "$T_DIR/master-$protect.log.txt"
}
run_one none none connect
NONE_FAILED=$RP_FAILED NONE_REQUESTS=$RP_REQUESTS
run_one bpf bpf http:/
[ "$RP_FAILED" = 0 ] || fail "--protect bpf: $RP_FAILED requests failed"
BPF_REQUESTS=$RP_REQUESTS
run_one tcp-migrate-req tcp_migrate_req connect
rp_check_migrate_req "--protect tcp-migrate-req"
[ "$(rp_sysctl)" = 1 ] || fail "tcp_migrate_req was not turned on"
log "figures: none $NONE_FAILED failed of $NONE_REQUESTS; bpf 0 of $BPF_REQUESTS; tcp_migrate_req $RP_FAILED of $RP_REQUESTS (20 upgrades each)"
