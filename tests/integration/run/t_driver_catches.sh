#!/usr/bin/env bash
# The case driver can fail where the scripts it replaced could: a case whose scenario
# goes wrong fails with the reason, so a case file cannot pass by accident. Each bad
# case below runs through run/driver.sh and must exit 1 with its exact complaint:
# requests failed under load (a version aborting while it serves), a rollback reason
# other than the one expected, a version expected to answer that never did, an ALERT
# line in a log, a misspelled step, a case without its header.
. "$(dirname "$0")/../../lib/case.sh"
DRIVER=$(dirname "$0")/driver.sh

expect_caught() { case_expect_caught "$DRIVER" "$@"; }

expect_caught crash_serving 'FAIL: load1: [1-9][0-9]* requests failed' <<'EOF'
# v2 passes --min-ready, then aborts while it serves keep-alive clients.
master --workers 2 --min-ready 0.2 --drain-timeout 3
load keepalive 8
upgrade --crash-after 5000
wait-status .generations[]|select(.current)|.restarts >= 1
load-end
EOF
expect_caught reason 'FAIL: upgrade to v2: unexpected message: .*exited with status 3' <<'EOF'
# The rollback reason is not the one expected.
master
upgrade-fails --fail-at-start
reason generation 2 rolled back: worker [0-9]+ exited with status 4 before it was ready
EOF
expect_caught versions 'FAIL: load1: versions v1 answered, expected v1,v2' <<'EOF'
# A version that never became ready is expected to have answered.
master --ready-timeout 1
load keepalive 2
upgrade-fails --never-ready
reason not ready within 1000 ms
load-end
load-versions v1,v2
EOF
expect_caught alert "alert or sanitizer report in .*master.log" <<'EOF'
# Every step passes, but the app's complaint names ALERT in the master's log.
master
upgrade-fails --ALERT
reason rolled back
EOF
expect_caught typo "FAIL: .*typo.case:3: unknown step 'upgrdae'" <<'EOF'
# A misspelled step.
master
upgrdae
EOF
expect_caught noheader 'FAIL: .*noheader.case:1: a case starts with a comment naming what it guards' <<'EOF'
master
EOF
