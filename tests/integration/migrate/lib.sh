# Helpers shared by the migrate integration tests (source after tests/lib/common.sh).
HERE_MIGRATE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Builds the writer helper (an "app version" writing one column) into $T_DIR/writer.
build_writer() {
    cc -O1 -o "$T_DIR/writer" "$HERE_MIGRATE/writer.c" \
        $(pkg-config --cflags --libs sqlite3 libpq) >"$T_DIR/writer-build.out" 2>&1 ||
        fail "cannot build writer: $(cat "$T_DIR/writer-build.out")"
}

# Builds the probe helper (a transaction under a lock timeout, in a loop) into $T_DIR/probe.
build_probe() {
    cc -O1 -o "$T_DIR/probe" "$HERE_MIGRATE/probe.c" $(pkg-config --cflags --libs libpq) \
        >"$T_DIR/probe-build.out" 2>&1 || fail "cannot build probe: $(cat "$T_DIR/probe-build.out")"
}

# probe_result FILE FIELD: a field (txs, lock_timeouts, errors, longest_ms) of a probe's line.
probe_result() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1" | tail -1; }

# sql URL QUERY: runs one query on SQLite or PostgreSQL, prints rows (|-separated).
sql() {
    case "$1" in
    sqlite:*) sqlite3 -cmd ".timeout 10000" "${1#sqlite:}" "$2" ;;
    *) psql -qAtX -v ON_ERROR_STOP=1 -d "$1" -c "$2" ;;
    esac
}

# writer_result FILE FIELD: a field (ops, errors, busy, p99_ms...) of a writer's output line.
writer_result() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1" | tail -1; }

# ledger_phase URL ID: the phase of a migration in the ledger ("" if none).
ledger_phase() { sql "$1" "SELECT phase FROM baton_migrations WHERE id = '$2'" 2>/dev/null; }

# writer_stop PID NAME: the writer app NAME (output $T_DIR/NAME.out, errors NAME.err)
# stops at the end of its scenario and saw 0 errors.
writer_stop() {
    kill -TERM "$1"
    wait "$1"
    cat "$T_DIR/$2.out" >&2
    [ "$(writer_result "$T_DIR/$2.out" errors)" = 0 ] || fail "the $2 app saw errors: $(head -3 "$T_DIR/$2.err")"
}

# people_at_least WHERE: 20 rows or more of people (the table rename_table made) match
# WHERE, in $BATON_DB.
people_at_least() { [ "$(sql "$BATON_DB" "SELECT count(*) FROM people WHERE $1")" -ge 20 ]; }

# rename_new_app URL RATE LAST: once rename_table is expanded, the new app version writes
# and reads people through URL (RATE operations a second, inserts from id 2000000, updates
# up to LAST; output $T_DIR/new.out); $new is its pid. Returns once it has written.
rename_new_app() {
    WRITER_TABLE=people WRITER_READS=1 "$T_DIR/writer" "$1" name "$2" 2000000 "$3" 2000 \
        >"$T_DIR/new.out" 2>"$T_DIR/new.err" &
    new=$!
    track $new
    wait_for 60 people_at_least "id >= 2000000" || fail "the new app never wrote: $(head -3 "$T_DIR/new.err")"
}

# rename_rows_kept SEEDED: once both app versions stopped, people holds the SEEDED rows
# plus every insert of the old and the new app; $total is its count.
rename_rows_kept() {
    local old_ins new_ins
    old_ins=$(writer_result "$T_DIR/old.out" inserts)
    new_ins=$(writer_result "$T_DIR/new.out" inserts)
    total=$(sql "$BATON_DB" "SELECT count(*) FROM people")
    [ "$total" = $(($1 + old_ins + new_ins)) ] || fail "$total rows, expected $(($1 + old_ins + new_ins))"
}
