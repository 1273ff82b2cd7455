#!/usr/bin/env bash
# Scenario cases/sshd_stop.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" sshd_stop
