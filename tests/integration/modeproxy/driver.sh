#!/usr/bin/env bash
# Runs one case of tests/integration/modeproxy/cases/: `baton run --mode proxy` (apps
# bind a private $PORT, a proxy worker relays) under load, with the steps of
# tests/lib/run_scenario.sh. Usage: driver.sh CASE-FILE, as tests/integration/run.sh does.
T_NAME=modeproxy.$(basename "${1:?usage: driver.sh CASE-FILE}" .case)
SC_MODE=proxy
. "$(dirname "$0")/../../lib/run_scenario.sh"
scenario_main "$1"
