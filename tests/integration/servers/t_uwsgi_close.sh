#!/usr/bin/env bash
# uWSGI (python3 plugin, HTTP/1.1) under `baton run`: 5 upgrades under close load, a
# broken release is rolled back. Nothing fails but uWSGI's documented upstream race: a
# worker thread that has just accepted when the graceful reload arrives resets that
# connection (CI: 1 reset of 80 337 requests), or, when the old worker hangs in the
# reload until uWSGI's mercy kills it, leaves it unanswered until the client's timeout
# (CI: 3 timeouts of 329 373 requests, one upgrade). Those two kinds only, and in all
# at most 8 per upgrade made (the connections the old generation's 2 x 4 worker threads
# can hold); recipes/uwsgi-proxy.sh loses nothing.
. "$(dirname "$0")/driver.sh"
LOSS_KINDS=(reset timeout)
LOSS_PER_UPGRADE=8 # --processes 2 --threads 4 in recipes/uwsgi.sh
scenario uwsgi close
