# Backfills over keys that are not integers, killed at random (sourced by t_keyset_*.sh):
# a composite key (text, then text or UUID) and a text key holding quotes, spaces, an
# empty string and non-ASCII. The raw [backfill] logs each key it visits, so a row visited
# twice or never shows; every round must end with the data of a crash-free run.
KILL_ROWS=${KILL_ROWS:-3000}

write_keyset_migrations() {
    local m=$1
    mkdir -p "$m"
    cat >"$m/0001_docs.migration" <<'M'
key docs tenant,id
rename_column docs name title
[backfill docs tenant,id]
INSERT INTO batch_log (k) SELECT tenant || '/' || id FROM docs
 WHERE (tenant, id) > :lo AND (tenant, id) <= :hi;
M
    cat >"$m/0002_tags.migration" <<'M'
key tags code
rename_column tags label caption
M
}

keyset_dump() {
    local url=$1
    sql "$url" "SELECT tenant || '/' || id || ':' || title FROM docs ORDER BY tenant, id"
    sql "$url" "SELECT code || ':' || caption FROM tags ORDER BY code"
    echo "batch_log rows: $(sql "$url" "SELECT count(*) FROM batch_log")"
    echo "batch_log distinct: $(sql "$url" "SELECT count(DISTINCT k) FROM batch_log")"
    echo "ledger: $(sql "$url" "SELECT id || '=' || phase FROM baton_migrations ORDER BY id" | tr '\n' ' ')"
}

# keyset_tags_sql: INSERTs of the text keys (the same on both databases).
keyset_tags_sql() {
    echo "INSERT INTO tags (code, label) VALUES ('', 'empty'), ('o''brien', 'quote'),"
    echo " ('a b', 'space'), ('zürich', 'utf8'), ('Z', 'upper'), (' lead', 'lead'), ('x''''y', 'two');"
}

# keyset_kill_rounds NEW_DB_FN MIN_KILLS: kill_rounds with these migrations, then every
# awkward text key (keyset_tags_sql) was copied and at least one run resumed a keyset walk.
keyset_kill_rounds() {
    kill_rounds "$1" "$2"
    local want
    for want in ":empty" "o'brien:quote" "a b:space" "zürich:utf8" " lead:lead" "x''y:two"; do
        grep -qxF "$want" "$T_DIR/ref.dump" || fail "text key: no row '$want' after the backfill"
    done
    grep -q "resuming the keyset walk after" "$T_DIR/migrate.log" || fail "no run resumed a keyset walk"
}

KILL_WRITE=write_keyset_migrations
KILL_DUMP=keyset_dump
KILL_REF="batch_log rows: $KILL_ROWS"
