#!/usr/bin/env bash
# Scenario cases/kill_resume.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" kill_resume
