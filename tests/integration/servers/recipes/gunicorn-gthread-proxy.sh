# gunicorn (gthread workers) in --mode proxy: it binds the private port baton gives in
# $PORT, and keep-alive clients stay on baton's proxy worker, so the old workers closing
# their idle connections at TERM loses nothing. Ready when GET / answers.
NEEDS=(gunicorn)
RUN=(--mode proxy --ready http:/ --drain-timeout 35)
gunicorn_cmd() {
    CMD=(sh -c 'exec gunicorn --bind "127.0.0.1:$PORT" "$@"' gunicorn --chdir "$APP_DIR"
        --preload --workers 2 --worker-class gthread --threads 4 --graceful-timeout 30 "$@")
}
release() { gunicorn_cmd --env "APP_VERSION=$1" app:application; }
broken_release() { gunicorn_cmd broken:application; }
ROLLBACK_REASON='worker [0-9]+ exited with status [0-9]+ before it was ready'
