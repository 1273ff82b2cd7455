#!/usr/bin/env bash
# Scenario cases/inplace_p1.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" inplace_p1
