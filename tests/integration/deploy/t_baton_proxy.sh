#!/usr/bin/env bash
# Scenario cases/baton_proxy.case.case (tests/integration/deploy/driver.sh runs it).
. "$(dirname "$0")/driver.sh" baton_proxy
