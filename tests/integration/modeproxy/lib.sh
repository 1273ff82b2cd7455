# Helpers for the `baton run --mode proxy` integration tests (sourced; not a test
# itself). The run/ helpers (start_master, ctl, load_start, load_check, check_switch)
# apply unchanged: the master's public port is $PORT and the apps bind their $PORT.
. "$(dirname "$0")/../run/lib.sh"

# Private ports of this test: a range of its own, so that tests run side by side by
# other jobs on the machine do not meet (the master skips ports that are taken).
PRIV_LO=$((20000 + (RANDOM % 90) * 100))
PRIV_HI=$((PRIV_LO + 99))

# start_proxy_master [RUN OPTIONS] -- COMMAND...: `baton run --mode proxy` on $PORT.
start_proxy_master() {
    start_master --mode proxy --private-ports "$PRIV_LO-$PRIV_HI" "$@"
}

# The private ports of generation GEN (from status --json).
gen_ports() { ctl status --json | jq -r --argjson g "$1" '.generations[]|select(.id==$g)|.ports[]'; }
proxy_pid() { ctl status --json | jq -r .proxy.pid; }
