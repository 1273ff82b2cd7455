# gunicorn, sync workers. Its arbiter adopts the socket from LISTEN_FDS and sends
# READY=1 once it listens, before its workers have loaded the app: --preload loads the
# app in the arbiter first, so a release that cannot import fails before READY=1 and is
# rolled back. TERM is its graceful stop (workers finish their request).
NEEDS=(gunicorn)
RUN=(--drain-timeout 35)
release() {
    CMD=(gunicorn --chdir "$APP_DIR" --preload --workers 2 --graceful-timeout 30
        --env "APP_VERSION=$1" app:application)
}
broken_release() { CMD=(gunicorn --chdir "$APP_DIR" --preload --workers 2 broken:application); }
ROLLBACK_REASON='worker [0-9]+ exited with status [0-9]+ before it was ready'
