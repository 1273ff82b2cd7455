# Shared helpers for integration tests (bash). Source it first; it makes a temporary
# directory, kills every process the test registered on exit (even after a failure),
# and fails the test if a log holds an ALERT line or a sanitizer report.
[ -n "${T_COMMON_SOURCED:-}" ] && return 0 # once: the other tests/lib files source it too
T_COMMON_SOURCED=1
set -uo pipefail

: "${BATON:?BATON must point to the baton binary}"
: "${EXAMPLES:=}"
T_NAME=${T_NAME:-$(basename "$0" .sh)} # a case driver names its case here
T_DIR=$(mktemp -d "/tmp/baton-test.$T_NAME.XXXXXX")
chmod 755 "$T_DIR"
T_PIDS=()
T_CLEANUPS=()
T_FAILED=0
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

log() { printf '[%s] %s\n' "$T_NAME" "$*" >&2; }
fail() { log "FAIL: $*"; T_FAILED=1; exit 1; }
check() { # check "what" CONDITION...: fails the test with "what" unless the command succeeds
    local what=$1; shift
    "$@" || fail "$what"
}

# Registers a pid (or a command run in the background) to kill on exit.
track() { T_PIDS+=("$1"); }
on_exit() { T_CLEANUPS+=("$1"); }

_t_cleanup() {
    local rc=$?
    local f
    for f in "${T_CLEANUPS[@]}"; do eval "$f" >/dev/null 2>&1 || true; done
    local p
    for p in "${T_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in "${T_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    # Processes left in our directory's process group tree: workers of a killed master.
    pkill -KILL -f "$T_DIR" 2>/dev/null || true
    _t_release_ports
    local bad
    bad=$(grep -lE 'ALERT|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$T_DIR"/*.log 2>/dev/null || true)
    if [ -n "$bad" ]; then
        for f in $bad; do log "alert or sanitizer report in $f:"; grep -E -A20 'ALERT|Sanitizer|runtime error' "$f" | head -40 >&2; done
        rc=1
    fi
    if [ $rc -ne 0 ] || [ $T_FAILED -ne 0 ]; then
        log "logs kept in $T_DIR"
        for f in "$T_DIR"/*.log; do [ -f "$f" ] && { log "--- tail $f"; tail -15 "$f" >&2; }; done
        exit 1
    fi
    rm -rf "$T_DIR"
    exit 0
}
trap _t_cleanup EXIT
trap 'exit 1' INT TERM

# A free TCP port on 127.0.0.1: one the kernel hands out for a bind to port 0, then
# reserved for this test until it ends. The kernel may hand the same port out again as
# soon as it is released, to this test (two backends on one address) or to a test of
# another `make check` on the machine; so each port is claimed by an atomic mkdir in
# $T_PORTS_DIR, owned by this test's pid, and a port claimed by a live test is skipped.
T_PORTS_DIR=${T_PORTS_DIR:-/tmp/baton-test-ports}
# _t_claim_port PORT: claims PORT for this test; fails if a live test holds it.
_t_claim_port() {
    local dir=$T_PORTS_DIR/$1 owner
    if ! mkdir "$dir" 2>/dev/null; then
        owner=$(cat "$dir/pid" 2>/dev/null)
        [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && return 1
        [ -z "$owner" ] && [ -n "$(find "$dir" -maxdepth 0 -mmin -1 2>/dev/null)" ] &&
            return 1 # being claimed this moment
        rm -rf "$dir" # its test is gone
        mkdir "$dir" 2>/dev/null || return 1
    fi
    echo $$ >"$dir/pid"
    echo "$1" >>"$T_DIR/.ports"
}
free_port() {
    local port _
    mkdir -p "$T_PORTS_DIR" 2>/dev/null && chmod 1777 "$T_PORTS_DIR" 2>/dev/null
    for _ in $(seq 1 100); do
        port=$(python3 - <<'PY' 2>/dev/null || shuf -i 20000-60000 -n 1
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
        )
        _t_claim_port "$port" && { echo "$port"; return 0; }
    done
    echo "free_port: no free port after 100 tries" >&2
    return 1
}
_t_release_ports() {
    local port
    [ -f "$T_DIR/.ports" ] || return 0
    while read -r port; do
        [ "$(cat "$T_PORTS_DIR/$port/pid" 2>/dev/null)" = $$ ] && rm -rf "${T_PORTS_DIR:?}/$port"
    done <"$T_DIR/.ports"
}

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds; fails after SECONDS.
wait_for() {
    local limit=$1; shift
    local end=$((SECONDS + limit))
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
    return 0
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# jget FILE FILTER: one value from a JSON file, via jq.
jget() { jq -r "$2" "$1"; }
