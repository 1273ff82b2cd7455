#!/usr/bin/env bash
# Runs one case of tests/integration/reuseport/cases/: `baton run --mode reuseport`
# (each generation binds the public port itself with SO_REUSEPORT) under load, with
# the steps of tests/lib/run_scenario.sh. Usage: driver.sh CASE-FILE.
T_NAME=reuseport.$(basename "${1:?usage: driver.sh CASE-FILE}" .case)
SC_MODE=reuseport
. "$(dirname "$0")/../../lib/run_scenario.sh"
scenario_main "$1"
