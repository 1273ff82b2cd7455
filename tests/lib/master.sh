# A `baton run` master for a test (sources common.sh): the example app copied into
# $T_DIR (so that workers left by a killed master are found by common.sh's cleanup),
# a free public port, a control socket in $T_DIR, and the status queries tests make.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
: "${EXAMPLES:?EXAMPLES must point to the examples build dir}"
APP=$T_DIR/httpapp
cp "$EXAMPLES/httpapp" "$APP"
CTL=$T_DIR/ctl/baton.sock
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/
MASTER=
# Private ports for --mode proxy: a range of this test's own, so that tests run side
# by side by other jobs on the machine do not meet (the master skips ports taken).
PRIV_LO=$((20000 + (RANDOM % 90) * 100))
PRIV_HI=$((PRIV_LO + 99))

# master_start [RUN OPTIONS] -- COMMAND...: starts `baton run` on $PORT with $CTL,
# logging to $T_DIR/master.log, and waits until it answers HTTP.
master_start() {
    "$BATON" run --listen "127.0.0.1:$PORT" --control "$CTL" "$@" >>"$T_DIR/master.log" 2>&1 &
    MASTER=$!
    track "$MASTER"
    wait_for "${MASTER_START_WAIT:-60}" curl -sf "$URL" || fail "baton run did not start serving on $PORT"
}

# master_start_proxy [RUN OPTIONS] -- COMMAND...: the same with --mode proxy and the
# private ports of this test.
master_start_proxy() { master_start --mode proxy --private-ports "$PRIV_LO-$PRIV_HI" "$@"; }

# master_ctl VERB [ARGS...]: a control verb (upgrade, status, ...) sent to the master.
master_ctl() { "$BATON" "$1" --control "$CTL" "${@:2}"; }

# master_stop: `baton stop`, then the master must exit 0.
master_stop() {
    master_ctl stop >/dev/null || fail "stop failed"
    wait "$MASTER" || fail "baton run exited non-zero after stop"
}

# status_holds JQ: the master's status (JSON) satisfies the jq expression JQ; for
# wait_for, or `status_holds ... || fail`.
status_holds() { master_ctl status --json | jq -e "$1" >/dev/null; }

# The version that answers a fresh connection now.
version_now() { curl -s --max-time 5 "$URL" | head -1; }
version_is() { [ "$(version_now)" = "$1" ]; }

# worker_pids GEN / gen_ports GEN: the workers' pids / private ports of generation GEN.
worker_pids() { master_ctl status --json | jq -r --argjson g "$1" '.generations[]|select(.id==$g)|.workers[].pid'; }
gen_ports() { master_ctl status --json | jq -r --argjson g "$1" '.generations[]|select(.id==$g)|.ports[]'; }
proxy_pid() { master_ctl status --json | jq -r .proxy.pid; }
