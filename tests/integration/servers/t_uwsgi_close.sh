#!/usr/bin/env bash
# uWSGI (python3 plugin, HTTP/1.1) under `baton run`: 5 upgrades under close load, 0 failed; a broken release is rolled back.
. "$(dirname "$0")/driver.sh"
scenario uwsgi close
