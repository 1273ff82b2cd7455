#!/usr/bin/env bash
# --mode reuseport with the BPF protection, in a network namespace of the test's own:
# a burst of new connections during the switch, as a SYN flood of real clients would
# make it: 2000 connections in flight at once, each a new connection per request,
# through 5 upgrades. No connection is refused or reset, and no request fails: the
# new generation's sockets take new connections from the moment they serve, and what
# waits in the old generation's queues (established or half-open) migrates to them
# when it closes. The app waits up to 30 s for the request of a connection it
# accepted before its drain (--idle-close-ms 30000): the load's 2000 clients share two
# busy cores, and a client may write its request seconds after its connect completed;
# an app that closes such a connection as idle loses it by its own choice.
RP_OWN_NETNS=1
. "$(dirname "$0")/lib.sh"

master_start --mode reuseport --ready http:/ --drain-timeout 30 -- "$APP" --version v1 --idle-close-ms 30000
[ "$(rp_protection | cut -d: -f1)" = bpf ] || fail "status names '$(rp_protection)'"
load_start burst "$URL" --connections 2000 --close --timeout 30s
for v in 2 3 4 5 6; do
    load_wait_more burst 4000
    out=$(master_ctl upgrade --json -- "$APP" --version "v$v" --idle-close-ms 30000 2>&1) || fail "upgrade to v$v failed: $out"
    load_wait_version burst "v$v"
done
load_wait_more burst 4000
load_stop burst
f=$T_DIR/burst.json
log "burst: $(jget "$f" .requests) requests, failures $(jq -c .failures "$f")"
[ "$(jget "$f" .failures.connect)" = 0 ] || fail "connections were refused: $(jq -c .failures "$f")"
[ "$(jget "$f" .failures.reset)" = 0 ] || fail "connections were reset: $(jq -c .failures "$f")"
load_check burst
master_stop
