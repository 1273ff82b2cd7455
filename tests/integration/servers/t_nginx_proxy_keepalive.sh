#!/usr/bin/env bash
# nginx in --mode proxy (listen 127.0.0.1:$PORT, QUIT) under `baton run`: 5 upgrades under keepalive load, 0 failed; a broken release is rolled back.
. "$(dirname "$0")/driver.sh"
scenario nginx-proxy keepalive
