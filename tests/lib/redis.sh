# Starts a throw-away Redis server for a test on 127.0.0.1 and a free port, no
# persistence, stopped on exit. Sources common.sh. Sets REDIS_PORT and REDIS_URL.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
redis_start() {
    command -v redis-server >/dev/null || fail "redis-server not installed (run scripts/deps.sh)"
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$T_DIR" --daemonize no >"$T_DIR/redis-server.out" 2>&1 &
    track $!
    wait_for 10 redis-cli -p "$REDIS_PORT" ping || fail "redis-server did not start"
    export REDIS_PORT REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
}
