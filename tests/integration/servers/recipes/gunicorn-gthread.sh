# gunicorn, gthread workers (threads, HTTP keep-alive). Started, made ready and stopped
# as with sync workers (recipes/gunicorn-sync.sh).
NEEDS=(gunicorn)
RUN=(--drain-timeout 35)
release() {
    CMD=(gunicorn --chdir "$APP_DIR" --preload --workers 2 --worker-class gthread --threads 4
        --graceful-timeout 30 --env "APP_VERSION=$1" app:application)
}
broken_release() {
    CMD=(gunicorn --chdir "$APP_DIR" --preload --workers 2 --worker-class gthread --threads 4
        broken:application)
}
ROLLBACK_REASON='worker [0-9]+ exited with status [0-9]+ before it was ready'
