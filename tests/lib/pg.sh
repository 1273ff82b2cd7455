# Starts a throw-away PostgreSQL server for a test: initdb in a temporary directory,
# listening on 127.0.0.1 on a free port, stopped on exit. Sources common.sh.
# Sets PG_URL (postgres://...), PGHOST, PGPORT, PGUSER, PGDATABASE.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

pg_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
    return 1
}

pg_start() {
    local bin
    bin=$(pg_bin) || fail "PostgreSQL server not installed (run scripts/deps.sh)"
    PG_DIR="$T_DIR/pg"
    mkdir -p "$PG_DIR"
    local run=()
    if [ "$(id -u)" -eq 0 ]; then
        # The server refuses to run as root: use the postgres system account.
        chown postgres "$PG_DIR"
        run=(runuser -u postgres --)
    fi
    PGPORT=$(free_port)
    "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U baton -A trust --no-sync -E UTF8 \
        >"$T_DIR/pg-initdb.out" 2>&1 || fail "initdb failed: $(tail -5 "$T_DIR/pg-initdb.out")"
    "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.out" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >"$T_DIR/pg-ctl.out" 2>&1 || fail "PostgreSQL did not start: $(tail -5 "$PG_DIR/server.out")"
    on_exit "${run[*]} $bin/pg_ctl -D $PG_DIR/data -m immediate stop"
    export PGHOST=127.0.0.1 PGPORT PGUSER=baton PGDATABASE=postgres
    export PG_URL="postgres://baton@127.0.0.1:$PGPORT/postgres"
}
