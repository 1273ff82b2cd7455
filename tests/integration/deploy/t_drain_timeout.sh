#!/usr/bin/env bash
# Scenario cases/drain_timeout.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" drain_timeout
