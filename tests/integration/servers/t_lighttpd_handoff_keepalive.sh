#!/usr/bin/env bash
# lighttpd (handoff mode, socket activation) under `baton run`, keep-alive load: its
# graceful stop (SIGINT) closes the idle keep-alive connections, so a request a client
# sends on one just then fails (closed without an answer). The test records how many
# (at most one per connection and upgrade) and that nothing else failed;
# recipes/lighttpd-proxy.sh is the recipe that loses nothing (t_lighttpd_proxy_*.sh).
. "$(dirname "$0")/driver.sh"
LOSS_KINDS=(reset premature_close)
scenario lighttpd-handoff keepalive
