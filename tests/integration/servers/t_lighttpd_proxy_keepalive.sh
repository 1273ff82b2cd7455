#!/usr/bin/env bash
# lighttpd in --mode proxy (binds $PORT) under `baton run`: 5 upgrades under keepalive load, 0 failed; a broken release is rolled back.
. "$(dirname "$0")/driver.sh"
scenario lighttpd-proxy keepalive
