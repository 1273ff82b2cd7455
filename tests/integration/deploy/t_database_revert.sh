#!/usr/bin/env bash
# Scenario cases/database_revert.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" database_revert
