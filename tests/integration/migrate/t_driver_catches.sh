#!/usr/bin/env bash
# The migrate case driver can fail where the scripts it replaced could: a case whose
# scenario goes wrong fails with the reason, so a case file cannot pass by accident.
# Each bad case below runs through migrate/driver.sh on SQLite and must exit 1 with its
# exact complaint: rows other than expected, a step run twice (or not at all) across
# concurrent runners, a killed run's data that differs from the crash-free run's, a
# migration that fails, a misspelled step, a case without its header or its database.
. "$(dirname "$0")/../../lib/case.sh"
DRIVER=$(dirname "$0")/driver.sh

expect_caught() { case_expect_caught "$DRIVER" "$@"; }

expect_caught rows "FAIL: sqlite: SELECT count\(\*\) FROM items gave '3', expected '5'" <<'EOF2'
# Three rows seeded, five expected.
db sqlite
sql CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)
sql INSERT INTO items (id, name) SELECT i, 'n' || i FROM {series 3} s
expect SELECT count(*) FROM items => 5
EOF2
expect_caught steps "FAIL: sqlite: 1 'expand' steps ran across 4 runners, expected 4" <<'EOF2'
# One step expected once per runner: the ledger runs it once in all.
db sqlite
sql CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)
migration 0001_flag add_column items flag INTEGER DEFAULT 0
runners 4 expand 4
EOF2
expect_caught differs 'FAIL: round 1: data differs from the crash-free run' <<'EOF2'
# What a run holds includes a random number: no killed run can equal the reference.
db sqlite
sql CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)
sql INSERT INTO items (id, name) SELECT i, 'n' || i FROM {series 100} s
migration 0001_flag add_column items flag INTEGER DEFAULT 0
dump SELECT random()
kill-rounds 1 1
EOF2
expect_caught broken "FAIL: sqlite: baton migrate expand failed: baton migrate expand: migration '0001_bad': .*no such table: no_such_table" <<'EOF2'
# A migration that cannot run.
db sqlite
migration 0001_bad [expand]
migration 0001_bad INSERT INTO no_such_table VALUES (1);
migrate expand
EOF2
expect_caught typo "FAIL: .*typo.case:3: unknown step 'migarte'" <<'EOF2'
# A misspelled step.
db sqlite
migarte expand
EOF2
expect_caught nodb 'FAIL: .*nodb.case: the first step is db' <<'EOF2'
# No database named first.
sql SELECT 1
EOF2
expect_caught noheader 'FAIL: .*noheader.case:1: a case starts with a comment naming what it guards' <<'EOF2'
db sqlite
EOF2
