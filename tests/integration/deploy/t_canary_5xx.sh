#!/usr/bin/env bash
# Scenario cases/canary_5xx.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" canary_5xx
