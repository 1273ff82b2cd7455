#!/usr/bin/env bash
# python (recipes/python.sh) under --mode reuseport: 5 upgrades under close load, 0 failed, no
# connection made after a switch answered by the old version; a broken release is
# rolled back; each old generation exits by itself.
. "$(dirname "$0")/servers.sh"
scenario python close
