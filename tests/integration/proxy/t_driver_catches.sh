#!/usr/bin/env bash
# The proxy's case driver can fail where the scripts it replaced could: a case whose
# scenario goes wrong fails with the reason, so a case file cannot pass by accident.
# Each bad case below runs through proxy/driver.sh and must exit 1 with its exact
# complaint: requests failed under load (the only backend killed), a version expected
# to answer that does not, a stream expected to complete that the proxy cut, a log line
# that is not there, a misspelled step, a case without its header.
. "$(dirname "$0")/../../lib/case.sh"
DRIVER=$(dirname "$0")/driver.sh

expect_caught() { case_expect_caught "$DRIVER" "$@"; }

expect_caught failed 'FAIL: load1: [1-9][0-9]* requests failed' <<'EOF2'
# The only backend is killed under load: requests fail.
app blue
proxy --mode tcp --health none --backend blue/b1=127.0.0.1:{blue}
load close 4
kill-app blue
restart-app blue
load-end
EOF2
expect_caught version "FAIL: green does not answer a new request \(got 'blue'\)" <<'EOF2'
# No switch: blue still answers.
app blue
app green
proxy --mode http --backend blue/b1=127.0.0.1:{blue} --backend green/g1=127.0.0.1:{green}
serves green
EOF2
expect_caught cut 'FAIL: stream s1 ended before stream-end' <<'EOF2'
# A drain timeout cuts the stream the case expects to complete.
app blue
app green
proxy --mode http --backend blue/b1=127.0.0.1:{blue} --backend green/g1=127.0.0.1:{green}
stream s1 blue
conns b1 1
switch green --drain-timeout 100ms
backend b1 drained
stream-end s1
EOF2
expect_caught nolog "FAIL: the proxy's log lacks: switched from pool 'blue' to 'purple'" <<'EOF2'
# The log line expected names a pool that does not exist.
app blue
app green
proxy --mode http --backend blue/b1=127.0.0.1:{blue} --backend green/g1=127.0.0.1:{green}
switch green
log switched from pool 'blue' to 'purple'
EOF2
expect_caught typo "FAIL: .*typo.case:3: unknown step 'swtich'" <<'EOF2'
# A misspelled step.
app blue
swtich green
EOF2
expect_caught noheader 'FAIL: .*noheader.case:1: a case starts with a comment naming what it guards' <<'EOF2'
app blue
EOF2
