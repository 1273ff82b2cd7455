# uWSGI 2.0 (Debian: the python3 plugin). It adopts the socket from LISTEN_FDS by itself
# (no --socket), speaks HTTP/1.1 with keep-alive on it with --protocol http11, and its
# master sends READY=1 once the app is loaded (--need-app: an app that cannot load makes
# uWSGI exit, so the release is rolled back), before its workers are forked. Its
# graceful stop is a graceful reload turned into an exit: HUP with --exit-on-reload
# (TERM with --die-on-term is not graceful: the workers get SIGINT mid-request).
NEEDS=(uwsgi)
RUN=(--stop-signal HUP --drain-timeout 35)
uwsgi_cmd() {
    CMD=(uwsgi --plugin python3 --master --processes 2 --threads 4 --protocol http11
        --disable-logging --chdir "$APP_DIR" --need-app --exit-on-reload
        --worker-reload-mercy 30 "$@")
}
release() { uwsgi_cmd --wsgi-file app.py --env "APP_VERSION=$1"; }
broken_release() { uwsgi_cmd --wsgi-file broken.py; }
ROLLBACK_REASON='worker [0-9]+ exited with status [0-9]+ before it was ready'
