# examples/reuseport/app.py, unchanged: Python's http.server binding $BATON_LISTEN with
# socket.SO_REUSEPORT itself; TERM stops it gracefully. Debian's python3.
NEEDS=(/usr/bin/python3)
RUN=(--mode reuseport --ready http:/ --drain-timeout 30)
release() { CMD=(/usr/bin/python3 "$RP_APP/app.py" --version "$1"); }
# A release that fails at import.
broken_release() { CMD=(/usr/bin/python3 -c 'import app_module_that_is_not_there'); }
ROLLBACK_REASON='worker [0-9]+ exited with status 1 before it was ready'
