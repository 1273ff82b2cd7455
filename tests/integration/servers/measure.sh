#!/usr/bin/env bash
# Measures what a recipe loses, without judging it: runs the servers' scenario
# (driver.sh) with RECIPE and LOAD and prints the load's figures, failed requests
# included. Not a test: the figures of docs/examples-servers.md for recipes that lose
# requests come from it. Run it from the top of the tree after `make`:
#   tests/integration/servers/measure.sh RECIPE keepalive|close [UPGRADES]
# e.g. tests/integration/servers/measure.sh uwsgi-die-on-term close 5
set -u
[ $# -ge 2 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
export BATON=${BATON:-$top/build/rel/baton} MEASURE=1 UPGRADES=${3:-5}
# baton load tells 32 versions apart; v1 and the releases must fit.
[ "$UPGRADES" -ge 1 ] && [ "$UPGRADES" -le 30 ] || { echo "measure.sh: UPGRADES must be 1..30" >&2; exit 2; }
exec bash -c '. "$1/driver.sh"; scenario "$2" "$3"' "measure-$1-$2" "$here" "$1" "$2"
