# examples/reuseport/app.js on Debian's nodejs. Node sets SO_REUSEPORT itself from 22.12
# / 23.1 on (net's reusePort); an older Node gets its socket from reuseport-listen.py
# (bound with SO_REUSEPORT, passed as fd 3 with LISTEN_FDS=1), started in front of it.
# TERM: server.close() and closeIdleConnections().
NEEDS=(node /usr/bin/python3)
RUN=(--mode reuseport --ready http:/ --drain-timeout 30)
NODE_CMD=(node)
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 23 || (a === 23 && b >= 1) || (a === 22 && b >= 12) ? 0 : 1)'; then
    NODE_CMD=(/usr/bin/python3 "$RP_APP/reuseport-listen.py" node)
    log "node $(node --version) cannot set SO_REUSEPORT: through reuseport-listen.py"
fi
release() { CMD=("${NODE_CMD[@]}" "$RP_APP/app.js" --version "$1"); }
# A release with a syntax error: node exits 1 at start.
broken_release() { CMD=(node -e 'this is not javascript'); }
ROLLBACK_REASON='worker [0-9]+ exited with status 1 before it was ready'
