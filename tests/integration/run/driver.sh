#!/usr/bin/env bash
# Runs one case of tests/integration/run/cases/: `baton run` in handoff mode (workers
# inherit the master's sockets) under load, with the steps of tests/lib/run_scenario.sh.
# Usage: driver.sh CASE-FILE; tests/integration/run.sh runs every case this way.
T_NAME=run.$(basename "${1:?usage: driver.sh CASE-FILE}" .case)
SC_MODE=handoff
. "$(dirname "$0")/../../lib/run_scenario.sh"
scenario_main "$1"
