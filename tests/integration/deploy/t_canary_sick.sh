#!/usr/bin/env bash
# Scenario cases/canary_sick.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" canary_sick
