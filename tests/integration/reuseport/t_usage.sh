#!/usr/bin/env bash
# Usage errors of --mode reuseport's options: exit 2 and the exact message, before
# anything starts.
. "$(dirname "$0")/../../lib/common.sh"

usage_error() { # usage_error MESSAGE ARGS...
    local msg=$1 out rc=0
    shift
    out=$("$BATON" run "$@" 2>&1 >/dev/null) || rc=$?
    [ $rc -eq 2 ] || fail "baton run $*: exit $rc, expected 2: $out"
    [ "$out" = "$msg" ] || fail "baton run $*: said '$out', expected '$msg'"
}
usage_error "baton run: --protect needs --mode reuseport" --protect bpf --listen 127.0.0.1:1 -- true
usage_error "baton run: invalid --protect 'ebpf': expected auto, bpf, tcp-migrate-req or none" \
    --mode reuseport --protect ebpf --listen 127.0.0.1:1 -- true
usage_error "baton run: --mode reuseport needs HOST:PORT addresses, not 'unix:$T_DIR/s'" \
    --mode reuseport --listen "unix:$T_DIR/s" -- true
"$BATON" run --help | grep "reuseport: each worker binds the --listen address" >/dev/null ||
    fail "--help does not describe --mode reuseport"
