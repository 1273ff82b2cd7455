#!/usr/bin/env bash
# The verbs on SQLite with the example migrations and releases: a leap-frog past a
# checkpoint is refused before any DDL and names the release to pass through; path,
# check, status --json, abort (old schema back exactly), lint exit codes, checksums, new.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/lib.sh"
repo=$(cd "$here/../../.." && pwd)

m="$T_DIR/m"
mkdir -p "$m"
cp "$repo"/examples/migrations/* "$m/"
url="sqlite:$T_DIR/app.db"
export BATON_DB=$url BATON_MIGRATIONS=$m
schema() { sqlite3 "$T_DIR/app.db" ".schema" | grep -v baton_; }
run() { "$BATON" migrate "$@" 2>>"$T_DIR/migrate.log"; }

# usage
"$BATON" migrate --help | grep "check --release REL" >/dev/null || fail "--help lacks the verbs"
"$BATON" migrate >/dev/null 2>&1; [ $? = 2 ] || fail "no verb must exit 2"
"$BATON" migrate frobnicate >/dev/null 2>&1; [ $? = 2 ] || fail "unknown verb must exit 2"
"$BATON" migrate path --from 1.0 >/dev/null 2>&1; [ $? = 2 ] || fail "path without --to must exit 2"
# every numeric option is accepted, before or after the verb
for o in lease-ms wait-ms lock-timeout-ms retries batch-size batch-max time-target-ms duty-percent batch-sleep-ms; do
    "$BATON" migrate status --$o 100 >/dev/null || fail "option --$o 100 refused"
    "$BATON" migrate --$o 100 status >/dev/null || fail "option --$o 100 before the verb refused"
done
"$BATON" migrate status --batch-size x >/dev/null 2>&1; [ $? = 2 ] || fail "a bad number must exit 2"
printf '[migrate]\nduty-percent = 30\nlog-level = warn\n' >"$T_DIR/migrate.ini"
"$BATON" migrate --config "$T_DIR/migrate.ini" status >/dev/null || fail "--config refused"

run expand --to 0002_add_email || fail "expand to 0002"
sqlite3 "$T_DIR/app.db" "INSERT INTO users (name, age, legacy) VALUES ('ann', 30, 'l'), ('bob', 40, 'l')"
before=$(schema)

# abort puts the old schema back exactly
run expand --to 0003_rename_name || fail "expand to 0003"
schema | grep full_name >/dev/null || fail "rename did not add full_name"
run abort 0003_rename_name || fail "abort 0003"
[ "$(schema)" = "$before" ] || fail "abort left the schema changed: $(diff <(echo "$before") <(schema))"
[ "$(ledger_phase "$url" 0003_rename_name)" = aborted ] || fail "0003 not aborted"
out=$("$BATON" migrate abort 0001_create_users 2>&1); [ $? = 1 ] || fail "abort of a migration with later expanded ones must fail"
[[ "$out" == *"the later migration '0002_add_email' is backfilled; abort it first"* ]] || fail "abort message: $out"
printf '[expand]\nCREATE TABLE t9 (id INTEGER);\n' >"$m/0009_raw.migration"
out=$("$BATON" migrate abort 0009_raw 2>&1); [ $? = 1 ] || fail "abort of raw [expand] without [abort] must fail"
[[ "$out" == *"has no [abort] section"* ]] || fail "abort message: $out"
rm "$m/0009_raw.migration"

# leap-frog: expanding 0004 (release 3.0) while checkpoint 2.0 is not contracted
out=$("$BATON" migrate expand 2>&1); rc=$?
[ $rc = 1 ] || fail "leap-frog expand exited $rc, want 1"
echo "$out" | grep "refusing to expand '0004_drop_legacy' (release 3.0): it is past checkpoint release 2.0" >/dev/null || fail "leap-frog message: $out"
echo "$out" | grep "pass through release 2.0" >/dev/null || fail "leap-frog message does not name the release: $out"
[ "$(schema)" = "$before" ] || fail "the refused expand ran DDL: $(diff <(echo "$before") <(schema))"
[ "$(ledger_phase "$url" 0003_rename_name)" = aborted ] || fail "the refused expand touched the ledger"

# path prints the mandatory stop
out=$("$BATON" migrate path --from 1.0 --to 3.0) || fail "path failed"
echo "$out" | grep "1 mandatory stop" >/dev/null || fail "path: $out"
echo "$out" | grep "stop 1: release 2.0 (checkpoint)" >/dev/null || fail "path: $out"
[ "$("$BATON" migrate path --from 1.0 --to 3.0 --json | jq -r '.stops[0].release')" = 2.0 ] || fail "path --json"
"$BATON" migrate path --from 3.0 --to 1.0 >/dev/null 2>&1 && fail "a backwards path must fail"

# check before serving
"$BATON" migrate check --release 1.1 >/dev/null || fail "1.1 must be compatible"
"$BATON" migrate check --release 2.0 >/dev/null && fail "2.0 must not be compatible before 0003 is expanded"
run expand --to 0003_rename_name || fail "expand to 0003 again"
"$BATON" migrate check --release 2.0 >/dev/null || fail "2.0 must be compatible after expand"
"$BATON" migrate check --release 1.1 >/dev/null || fail "1.1 must stay compatible until contract"
[ "$("$BATON" migrate check --release 3.0 --json | jq -r .compatible)" = false ] || fail "check --json"
[ "$(sqlite3 "$T_DIR/app.db" "SELECT count(*) FROM users WHERE full_name IS NOT name")" = 0 ] || fail "backfill incomplete"
run contract --to 0003_rename_name || fail "contract 0003"
out=$("$BATON" migrate check --release 1.1); [ $? = 1 ] || fail "1.1 must not be compatible after 0003's contract"
echo "$out" | grep "removed what release 1.1 still uses" >/dev/null || fail "check message: $out"

# past the checkpoint now
run expand || fail "expand after the checkpoint"
"$BATON" migrate check --release 3.0 >/dev/null || fail "3.0 must be compatible"
[ "$("$BATON" migrate status --json | jq -r '.[3].phase')" = backfilled ] || fail "status --json phase"
"$BATON" migrate status | grep "0004_drop_legacy  *backfilled  *3.0" >/dev/null || fail "status table"
"$BATON" migrate plan | grep "drop column users.legacy" >/dev/null || fail "plan shows the contract step"
run contract || fail "final contract"
"$BATON" migrate plan | grep "nothing to do" >/dev/null || fail "plan after contract"

# a migration changed after it ran is refused
echo "# edited" >>"$m/0002_add_email.migration"
out=$("$BATON" migrate expand 2>&1); [ $? = 1 ] || fail "changed file accepted"
echo "$out" | grep "migration '0002_add_email' changed after it was applied" >/dev/null || fail "checksum message: $out"

# lint: the examples pass, an unsafe file fails with the rule and the recipe
"$BATON" migrate lint "$repo"/examples/migrations/*.migration || fail "examples must lint clean"
printf '[expand]\nCREATE INDEX users_age ON users (age);\nALTER TABLE users DROP COLUMN legacy;\n' >"$T_DIR/0009_bad.migration"
out=$("$BATON" migrate lint --db postgres://x/y "$T_DIR/0009_bad.migration"); [ $? = 1 ] || fail "lint must exit 1"
echo "$out" | grep "0009_bad.migration:2: postgres \[create-index-concurrently\]" >/dev/null || fail "lint output: $out"
echo "$out" | grep "0009_bad.migration:3: postgres \[drop-column-in-expand\].*move it to \[contract\]" >/dev/null || fail "lint output: $out"
out=$("$BATON" migrate lint --db "$url" "$T_DIR/0009_bad.migration"); [ $? = 1 ] || fail "sqlite lint must exit 1"
echo "$out" | grep "create-index" >/dev/null && fail "sqlite has no CONCURRENTLY rule: $out"

# expand refuses a migration with lint findings, before any DDL
sed -i '$d' "$m/0002_add_email.migration"
printf 'add_column users score INTEGER NOT NULL\n' >"$m/0005_score.migration"
out=$("$BATON" migrate expand 2>&1); [ $? = 1 ] || fail "expand with lint findings must fail"
echo "$out" | grep "add-column-not-null" >/dev/null || fail "expand lint output: $out"
schema | grep score >/dev/null && fail "refused expand added the column"

# new
rm "$m/0005_score.migration"
p=$("$BATON" migrate new add_phone) || fail "new failed"
[ "$p" = "$m/0005_add_phone.migration" ] || fail "new created '$p'"
"$BATON" migrate lint "$p" || fail "the template must lint clean"
log "checkpoint refusal, path, check, abort, lint, checksums and new behave"
