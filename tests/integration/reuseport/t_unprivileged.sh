#!/usr/bin/env bash
# --mode reuseport run by an ordinary user (uid 65534, no capability), in a network
# namespace of the test's own. baton cannot load BPF nor set tcp_migrate_req there:
#   - `--ready http:/` is refused at start with the reason (without BPF the check
#     cannot tell the new worker from the old ones);
#   - with --ready connect the mode works: status and the log say "none" and why;
#     a version that never binds the shared port is rolled back; 20 upgrades under
#     --close load succeed, and the requests reset in closing listeners' queues are
#     recorded (not asserted: how many depends on timing);
#   - once root has turned tcp_migrate_req on in the namespace, the same user's master
#     reports that protection and 20 upgrades under --close load fail at most 1
#     request (rp_check_migrate_req says why one is allowed).
RP_OWN_NETNS=1
. "$(dirname "$0")/lib.sh"

RP_UID=65534
HOME_DIR=$T_DIR/home
mkdir -p "$HOME_DIR" "$T_DIR/ctl"
chown "$RP_UID:$RP_UID" "$HOME_DIR" "$T_DIR/ctl"
as_user() { setpriv --reuid="$RP_UID" --regid="$RP_UID" --clear-groups env HOME="$HOME_DIR" "$@"; }
master_ctl() { as_user "$BATON" "$1" --control "$CTL" "${@:2}"; }
user_master() {
    setpriv --reuid="$RP_UID" --regid="$RP_UID" --clear-groups env HOME="$HOME_DIR" \
        "$BATON" run --mode reuseport --listen "127.0.0.1:$PORT" --control "$CTL" \
        --ready connect --ready-timeout 5s --drain-timeout 30s -- "$APP" --version v1 \
        >>"$T_DIR/master.log" 2>&1 &
    MASTER=$!
    track "$MASTER"
    wait_for 60 curl -sf "$URL" || fail "baton run (uid $RP_UID) did not start serving on $PORT"
    [ "$(ps -o uid= -p "$MASTER" | tr -d ' ')" = "$RP_UID" ] || fail "the master does not run as uid $RP_UID"
}

[ "$(rp_sysctl)" = 0 ] || fail "tcp_migrate_req is on in a new namespace"
out=$(as_user "$BATON" run --mode reuseport --listen "127.0.0.1:$PORT" --control "$CTL" \
    --ready http:/ -- "$APP" 2>&1) && fail "--ready http:/ without BPF was accepted"
grep -q "error: --ready http:PATH in --mode reuseport needs the BPF protection, which sends the check to the new worker alone (here: connections waiting in a closing listener's queue are reset (no BPF: cannot load the reuseport BPF programs: Operation not permitted; cannot turn on '/proc/sys/net/ipv4/tcp_migrate_req': Permission denied)); use --ready connect or notify" <<<"$out" ||
    fail "unexpected message: $out"

user_master
[ "$(rp_protection | cut -d: -f1)" = none ] || fail "status names '$(rp_protection)'"
master_ctl status | grep "^reuseport protection: none (connections waiting in a closing listener's queue are reset" >/dev/null ||
    fail "status text does not name the missing protection: $(master_ctl status)"
grep -q "warn: reuseport protection: none: " "$T_DIR/master.log" || fail "the log does not warn"
out=$(master_ctl upgrade -- "$APP" --version v2 --listen "127.0.0.1:$(free_port)" 2>&1) &&
    fail "a version that never binds the shared port was promoted: $out"
grep -qE "generation 2 rolled back: not ready within 5000 ms .*Connection refused\); generation 1 keeps serving" <<<"$out" ||
    fail "unexpected rollback message: $out"
version_is v1 || fail "v1 does not serve after the rollback"
APP_V=2
rp_upgrades_under_close load-none 20 32
NONE_FAILED=$RP_FAILED NONE_REQUESTS=$RP_REQUESTS
master_stop

echo 1 >/proc/sys/net/ipv4/tcp_migrate_req
: >"$T_DIR/master.log"
user_master
rp_protection | grep "^tcp_migrate_req: net.ipv4.tcp_migrate_req was on" >/dev/null || fail "status names '$(rp_protection)'"
rp_upgrades_under_close load-migrate 20 32
rp_check_migrate_req "with tcp_migrate_req on"
master_stop
log "figures (uid $RP_UID): no protection $NONE_FAILED failed of $NONE_REQUESTS; tcp_migrate_req 0 of $RP_REQUESTS (20 upgrades each)"
