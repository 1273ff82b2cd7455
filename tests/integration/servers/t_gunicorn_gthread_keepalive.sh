#!/usr/bin/env bash
# gunicorn (gthread workers) under `baton run` (handoff), keep-alive load: at TERM the
# old workers close their open keep-alive connections, so a request a client sends on
# one just then fails (reset or closed). The test records how many (at most one per
# connection and upgrade) and that nothing else failed; recipes/gunicorn-gthread-proxy.sh
# is the recipe that loses nothing (t_gunicorn_gthread_proxy_keepalive.sh).
. "$(dirname "$0")/driver.sh"
LOSS_KINDS=(reset premature_close)
scenario gunicorn-gthread keepalive
