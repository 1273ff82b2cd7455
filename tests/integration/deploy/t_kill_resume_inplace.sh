#!/usr/bin/env bash
# Scenario cases/kill_resume_inplace.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" kill_resume_inplace
