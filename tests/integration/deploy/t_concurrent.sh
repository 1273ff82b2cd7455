#!/usr/bin/env bash
# Scenario cases/concurrent.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" concurrent
