#!/usr/bin/env bash
# uWSGI (python3 plugin, HTTP/1.1) under `baton run`: 5 upgrades under close load, a
# broken release is rolled back. Nothing fails but uWSGI's documented upstream race (a
# worker thread that has just accepted when the graceful reload arrives resets that
# connection): resets only, at most one per worker process and upgrade. CI saw it once
# (1 reset of 80 337 requests); recipes/uwsgi-proxy.sh loses nothing.
. "$(dirname "$0")/driver.sh"
LOSS_KINDS=(reset)
LOSS_PER_UPGRADE=2 # --processes 2 in recipes/uwsgi.sh
scenario uwsgi close
