# Measured only (measure.sh), not a test: uWSGI stopped by TERM with --die-on-term, as
# many guides have it. Its master then sends SIGINT to the workers, which exit in the
# middle of their requests: the requests in flight at each upgrade fail.
. "$SERVERS_DIR/recipes/uwsgi.sh"
RUN=(--drain-timeout 35)
uwsgi_cmd() {
    CMD=(uwsgi --plugin python3 --master --processes 2 --threads 4 --protocol http11
        --disable-logging --chdir "$APP_DIR" --need-app --die-on-term "$@")
}
