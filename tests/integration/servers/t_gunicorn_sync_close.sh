#!/usr/bin/env bash
# gunicorn (sync workers) under `baton run`: 5 upgrades under close load, 0 failed; a broken release is rolled back.
. "$(dirname "$0")/driver.sh"
scenario gunicorn-sync close
