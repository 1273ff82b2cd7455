#!/usr/bin/env bash
# uWSGI in --mode proxy under `baton run`: 5 upgrades under keepalive load, 0 failed; a broken release is rolled back.
. "$(dirname "$0")/driver.sh"
scenario uwsgi-proxy keepalive
