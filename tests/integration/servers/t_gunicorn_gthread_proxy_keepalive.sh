#!/usr/bin/env bash
# gunicorn (gthread workers) in --mode proxy under `baton run`: 5 upgrades under keepalive load, 0 failed; a broken release is rolled back.
. "$(dirname "$0")/driver.sh"
scenario gunicorn-gthread-proxy keepalive
