#!/usr/bin/env bash
# `baton reexec` refuses a binary that fails its self-check (`--version` exits non-zero)
# or is not baton (prints something else), with the reason, and changes nothing: the
# master keeps its image, re-exec count and serving generation. (Re-execs that succeed,
# under load, are run/cases/reexec.case.)
. "$(dirname "$0")/../../lib/master.sh"
master_start --workers 2 --drain-timeout 3 -- "$APP" --version v1
printf '#!/bin/sh\necho hello\n' >"$T_DIR/notbaton"
chmod +x "$T_DIR/notbaton"
out=$(master_ctl reexec /bin/false 2>&1) && fail "reexec of /bin/false succeeded"
grep -qE "refusing to re-execute '(/usr)?/bin/false': its self-check '--version' exited with status 1" <<<"$out" ||
    fail "unexpected message: $out"
out=$(master_ctl reexec "$T_DIR/notbaton" 2>&1) && fail "reexec of a non-baton binary succeeded"
grep -q "printed 'hello', not 'baton VERSION'" <<<"$out" || fail "unexpected message: $out"
status_holds ".reexecs == 0 and .pid == $MASTER and .current_generation == 1" ||
    fail "a refused re-exec changed the master: $(master_ctl status --json)"
[ "$(version_now)" = v1 ] || fail "v1 does not serve after refused re-execs"
