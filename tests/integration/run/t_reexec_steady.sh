#!/usr/bin/env bash
# 20 re-execs in a row carry nothing over that grows: after the 20th the master holds the
# same descriptors (the same sockets, by inode), the same environment (byte for byte)
# and maps the same files as after the first, keeps its pid and serves. A master that
# loads no BPF programs maps neither libbpf nor what it pulls in (libelf, zlib).
. "$(dirname "$0")/../../lib/master.sh"
master_start --workers 2 --drain-timeout 3 -- "$APP" --version v1
# snapshot FILE: the master's descriptors and their targets, environment and mapped files
snapshot() {
    {
        for fd in /proc/"$MASTER"/fd/*; do echo "fd ${fd##*/} $(readlink "$fd")"; done | sort
        tr '\0' '\n' <"/proc/$MASTER/environ" | sed 's/^/env /'
        awk '$6 != "" {print "map " $6}' "/proc/$MASTER/maps" | sort -u
    } >"$1"
}
reexec() {
    master_ctl reexec >/dev/null || fail "re-exec $1 failed"
    wait_for 30 status_holds ".reexecs == $1 and .pid == $MASTER and
        (.generations | length == 1) and .operation == null" ||
        fail "re-exec $1 did not settle: $(master_ctl status --json)"
}
reexec 1
snapshot "$T_DIR/after1"
grep -q '^fd ' "$T_DIR/after1" && grep -q '^env ' "$T_DIR/after1" && grep -q '^map ' "$T_DIR/after1" ||
    fail "empty snapshot of the master: $(cat "$T_DIR/after1")"
for i in $(seq 2 20); do reexec "$i"; done
snapshot "$T_DIR/after20"
diff -u "$T_DIR/after1" "$T_DIR/after20" >"$T_DIR/diff" ||
    fail "the master after 20 re-execs differs from after 1: $(cat "$T_DIR/diff")"
[ "$(version_now)" = v1 ] || fail "v1 does not serve after 20 re-execs: $(version_now)"
if grep -E '^map .*/(libbpf|libelf|libz)[.-]' "$T_DIR/after20"; then
    fail "a master in handoff mode maps libraries only BPF programs need"
fi
master_stop
