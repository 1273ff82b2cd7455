#!/usr/bin/env bash
# `make demo-fleet` (needs root: network namespaces): a fleet of 4 hosts on this
# machine, each a network namespace with its own address, a real sshd and `baton run`
# serving the example app, HAProxy in front, load through it all along; then
# `baton deploy` rolls v2 over the fleet (canary, bake, then 2 at a time) and the load
# shows that no request failed. Everything made is removed at the end.
set -uo pipefail
build=$(cd "${1:-build/rel}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
    echo "make demo-fleet needs root: it makes network namespaces, veths and a bridge" >&2
    exit 2
fi
export BATON=$build/baton BATON_REL=$build/baton EXAMPLES=$build/examples
. "$here/tests/lib/common.sh"
. "$here/tests/lib/fleet.sh"
RUN=$(mktemp -d /tmp/btdemo.XXXXXX)
on_exit "pkill -KILL -f 'ControlPath=$RUN'; rm -rf '$RUN'"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. four hosts: network namespaces on a bridge, sshd and baton run (v1) in each"
fleet_up 4
for n in "${FLEET_HOSTS[@]}"; do fleet_run_app "$n" v1; done
fleet_haproxy A
for n in "${FLEET_HOSTS[@]}"; do echo "  $n  $(fleet_addr "$n")  ssh root@$(fleet_addr "$n"), app :8080"; done
echo "  lb  $(fleet_addr lb)  HAProxy :80, runtime API $FLEET_DIR/lb/A.sock"

cat >"$T_DIR/fleet.ini" <<INI
[service]
name = demo
state = $T_DIR/fleet.state

[ssh]
user = root
identity = $FLEET_DIR/id
known-hosts = $FLEET_DIR/known_hosts

[host h1]
ssh = $(fleet_addr h1)
group = canary
[host h2]
ssh = $(fleet_addr h2)
[host h3]
ssh = $(fleet_addr h3)
[host h4]
ssh = $(fleet_addr h4)

[balancer]
type = haproxy
socket = unix:$FLEET_DIR/lb/A.sock
backend = app

[app]
strategy = in-place
name = app
baton = $BATON
command = $FLEET_DIR/release {release}
port = 8080

[rollout]
canary = canary
bake = 3s
max-parallel = 2
health = http:/health
health-interval = 200ms
verify-5xx-rate = 1%

[lease]
path = $T_DIR/fleet.lock
INI
say "2. the deploy file, and the plan it makes (baton deploy FILE v2 --dry-run)"
sed -n '/^\[host h1\]/,/^\[host h2\]/p;/^\[balancer\]/,$p' "$T_DIR/fleet.ini" | sed '$d' | sed 's/^/  /'
XDG_RUNTIME_DIR=$RUN "$BATON" deploy "$T_DIR/fleet.ini" v2 --dry-run | sed -n '1,12p' | sed 's/^/  /'

say "3. load through HAProxy (keep-alive), and the deploy of v2"
fleet_load_start demo --connections 8
sleep 1
XDG_RUNTIME_DIR=$RUN "$BATON" deploy "$T_DIR/fleet.ini" v2
rc=$?

say "4. what the clients saw"
got=$(fleet_load_stop demo)
echo "  $got" | awk '{print "  requests: " $1 ", failed: " $2}'
jq -r '"  answered by: " + (.versions | to_entries | map("\(.key) \(.value)") | join(", "))' "$T_DIR/demo.json"
fleet_hap_status A | sed 's/^/  HAProxy: /'
[ $rc -eq 0 ] && [ "${got#* }" = 0 ]
