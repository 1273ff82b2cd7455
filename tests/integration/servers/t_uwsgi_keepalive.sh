#!/usr/bin/env bash
# uWSGI under `baton run` (handoff), keep-alive load: a graceful reload ends each
# worker's open keep-alive connection, so the request a client sends on it next fails
# (reset). The test records how many (at most one per connection and upgrade) and that
# nothing else failed; recipes/uwsgi-proxy.sh is the recipe that loses nothing
# (t_uwsgi_proxy_keepalive.sh).
. "$(dirname "$0")/driver.sh"
LOSS_KINDS=(reset premature_close)
scenario uwsgi keepalive
