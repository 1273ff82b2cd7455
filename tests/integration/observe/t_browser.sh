#!/usr/bin/env bash
# Headless Chromium loads the master's status page while the app serves a load and is
# upgraded: the same page, polling on its own, shows generation 2 appear as serving
# and generation 1 disappear, with the upgrade's timeline; the load has no failure.
. "$(dirname "$0")/../../lib/master.sh"
. "$(dirname "$0")/../../lib/load.sh"
. "$(dirname "$0")/lib.sh"
MPORT=$(free_port)
master_start --workers 2 --metrics "127.0.0.1:$MPORT" -- "$APP" --version v1
load_start app "$URL" --connections 4
DPORT=$(free_port)
chromedriver --port="$DPORT" --allowed-ips=127.0.0.1 >"$T_DIR/chromedriver.out" 2>&1 &
track $!
wait_for 30 curl -sf "http://127.0.0.1:$DPORT/status" || fail "chromedriver did not start"
/usr/bin/python3 "$(dirname "$0")/browser.py" "http://127.0.0.1:$DPORT" "http://127.0.0.1:$MPORT/" 1 2 \
    "$T_DIR/page.png" -- "$BATON" upgrade --control "$CTL" >"$T_DIR/browser.log" 2>&1 ||
    fail "the page did not show the switch: $(cat "$T_DIR/browser.log")"
cat "$T_DIR/browser.log" >&2
[ -s "$T_DIR/page.png" ] || fail "no screenshot"
load_wait_more app 50
load_stop app
load_check app
master_stop
