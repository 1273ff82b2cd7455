#!/usr/bin/env bash
# The master runs with glibc's per-thread malloc cache off (it executes itself once with
# GLIBC_TUNABLES, docs/internals/master-memory.md), and its workers get the environment
# the master was given: an operator's GLIBC_TUNABLES as it was, none when there was none,
# and none of the master's markers; the master keeps its process name ("baton", not the
# "exe" of /proc/self/exe); the same after a re-exec of the master.
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/master.sh"
BATON=${BATON_REL:-$BATON} # a sanitizer's allocator has no such cache: no exec there
# env_of PID: the environment PID was started with, one entry a line
env_of() { tr '\0' '\n' <"/proc/$1/environ"; }
# check_master: the master's image was started with the marker of the tunable
check_master() {
    env_of "$MASTER" | grep '^BATON_TCACHE_OFF=' >/dev/null ||
        fail "the master runs without the tunable ($1): $(env_of "$MASTER" | grep -E 'TUNABLES|BATON_' | tr '\n' ' ')"
    [ "$(cat "/proc/$MASTER/comm")" = "$(basename "$BATON")" ] ||
        fail "the master's process name is '$(cat "/proc/$MASTER/comm")' ($1), want '$(basename "$BATON")'"
}
# check_workers GEN WANT: each worker of GEN has GLIBC_TUNABLES as WANT ("" for none)
check_workers() {
    local pids
    pids=$(worker_pids "$1")
    [ -n "$pids" ] || fail "generation $1 has no workers: $(master_ctl status --json)"
    for w in $pids; do
        env_of "$w" | grep -E '^BATON_(TCACHE_OFF|GLIBC_TUNABLES_WAS)=' >/dev/null &&
            fail "worker $w of generation $1 inherited the master's marker: $(env_of "$w" | grep BATON_ | tr '\n' ' ')"
        got=$(env_of "$w" | sed -n 's/^GLIBC_TUNABLES=//p')
        [ "$got" = "$2" ] || fail "worker $w of generation $1 has GLIBC_TUNABLES='$got', want '$2'"
    done
}
# scenario TUNABLES: a master started with GLIBC_TUNABLES=TUNABLES ("" for unset)
scenario() {
    if [ -n "$1" ]; then export GLIBC_TUNABLES=$1; else unset GLIBC_TUNABLES; fi
    master_start --workers 2 --drain-timeout 3 -- "$APP" --version v1
    unset GLIBC_TUNABLES
    check_master "started with GLIBC_TUNABLES='$1'"
    check_workers 1 "$1"
    master_ctl reexec >/dev/null || fail "re-exec failed"
    wait_for 30 status_holds '.reexecs == 1 and .operation == null' ||
        fail "the re-exec did not take over: $(master_ctl status --json)"
    check_master "after a re-exec"
    master_ctl upgrade -- "$APP" --version v2 >/dev/null || fail "upgrade to v2 failed"
    check_workers 2 "$1"
    version_is v2 || fail "v2 does not serve: $(version_now)"
    master_stop
    log "GLIBC_TUNABLES='$1': master with the tunable, workers with the environment given"
}
scenario "glibc.malloc.arena_max=2"
scenario ""
