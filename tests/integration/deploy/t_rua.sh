#!/usr/bin/env bash
# Scenario cases/rua.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" rua
