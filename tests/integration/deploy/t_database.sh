#!/usr/bin/env bash
# Scenario cases/database.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" database
