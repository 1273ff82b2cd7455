#!/usr/bin/env bash
# uWSGI under `baton run` (handoff), keep-alive load: a graceful reload ends each
# worker's open keep-alive connection, so the request a client sends on it next fails
# (reset), or times out when the old worker hangs in the reload until uWSGI's mercy
# kills it (seen once, on a machine running two `make check`). The test records how
# many (at most one per connection and upgrade) and that nothing else failed;
# recipes/uwsgi-proxy.sh is the recipe that loses nothing (t_uwsgi_proxy_keepalive.sh).
. "$(dirname "$0")/driver.sh"
LOSS_KINDS=(reset premature_close timeout)
scenario uwsgi keepalive
