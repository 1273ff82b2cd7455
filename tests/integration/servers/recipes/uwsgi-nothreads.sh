# Measured only (measure.sh), not a test: recipes/uwsgi.sh with one thread per worker.
# A worker that accepted a connection just before its reload signal may reset it
# unanswered (uWSGI's own race); with --threads the window is narrower.
. "$SERVERS_DIR/recipes/uwsgi.sh"
uwsgi_cmd() {
    CMD=(uwsgi --plugin python3 --master --processes 2 --protocol http11
        --disable-logging --chdir "$APP_DIR" --need-app --exit-on-reload
        --worker-reload-mercy 30 "$@")
}
