# uWSGI in --mode proxy: it binds the private port baton gives in $PORT (uWSGI expands
# $(PORT) itself) and keep-alive clients stay on baton's proxy worker, so a reload that
# closes uWSGI's own connections loses nothing. Ready when GET / answers (a bound port
# alone does not mean the app loaded); stopped as in recipes/uwsgi.sh.
NEEDS=(uwsgi)
RUN=(--mode proxy --ready http:/ --stop-signal HUP --drain-timeout 35)
uwsgi_cmd() {
    CMD=(uwsgi --plugin python3 --master --processes 2 --threads 4
        --http11-socket '127.0.0.1:$(PORT)' --disable-logging --chdir "$APP_DIR" --need-app
        --exit-on-reload --worker-reload-mercy 30 "$@")
}
release() { uwsgi_cmd --wsgi-file app.py --env "APP_VERSION=$1"; }
broken_release() { uwsgi_cmd --wsgi-file broken.py; }
ROLLBACK_REASON='worker [0-9]+ exited with status [0-9]+ before it was ready'
