#!/usr/bin/env bash
# Scenario cases/inplace_p2_pair.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" inplace_p2_pair
