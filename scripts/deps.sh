#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/packages.txt that are not installed yet.
# Runs apt-get as root (directly, or through sudo); prints nothing when all are present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
while read -r pkg; do
    case "$pkg" in ''|'#'*) continue ;; esac
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done < "$here/packages.txt"
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Services packaged with the servers (postgresql, redis, nginx, haproxy) must not start
# on their default ports: tests start their own on free loopback ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    created_policy=1
fi
rc=0
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/baton-deps.log 2>&1 || rc=$?
[ $created_policy -eq 1 ] && $sudo rm -f "$policy"
if [ $rc -ne 0 ]; then
    tail -20 /tmp/baton-deps.log >&2
    echo "deps: apt-get install failed (full log: /tmp/baton-deps.log)" >&2
    exit 1
fi
echo "deps: done"
