#!/usr/bin/env bash
# One duration syntax on every option and config key: a unit (250ms, 2s, 1.5m), a bare
# number keeping the option's old unit (load --duration: seconds; --timeout:
# milliseconds), the old *-ms spellings still accepted on the command line and as config
# keys; usage errors exit 2 with the option, the value and what it accepts named.
. "$(dirname "$0")/lib.sh"

usage_error() { # usage_error MESSAGE ARGS...: exit 2 and exactly MESSAGE on stderr
    local msg=$1; shift
    local out rc=0
    out=$("$BATON" "$@" 2>&1 >/dev/null) || rc=$?
    [ $rc -eq 2 ] || fail "baton $*: exit $rc, expected 2: $out"
    [ "$out" = "$msg" ] || fail "baton $*: said '$out', expected '$msg'"
}
usage_error "baton run: invalid --drain-timeout '2d': expected 0..24h" \
    run --drain-timeout 2d --listen 127.0.0.1:1 -- true
usage_error "baton run: invalid --min-ready: '1 s' is not a duration (a number with a unit: 250ms, 2s, 1.5m, 1h)" \
    run --min-ready "1 s" --listen 127.0.0.1:1 -- true
usage_error "baton proxy: invalid --idle-timeout '0': expected 1ms..24h" \
    proxy --idle-timeout 0 --listen 127.0.0.1:1
usage_error "baton proxy: invalid --buffer-size '512': expected 1024..16777216" \
    proxy --buffer-size 512 --listen 127.0.0.1:1
usage_error "baton proxy: invalid --mode 'udp': expected tcp or http" proxy --mode udp
usage_error "baton load: invalid --timeout-ms '2h': expected 1ms..1h" load --timeout-ms 2h http://127.0.0.1:1/
usage_error "baton load: unknown option '--durations'; 'baton load --help' lists the options" \
    load --durations 1 http://127.0.0.1:1/
usage_error "baton load: option '--duration' needs a value; 'baton load --help' lists the options" \
    load http://127.0.0.1:1/ --duration
usage_error "baton switch: invalid --drain-timeout '8d': expected 0..168h" switch blue --drain-timeout 8d
usage_error "baton upgrade: unexpected argument 'v2': put the command after '--'" upgrade v2
usage_error "baton backend: unknown sub-command 'frob'; expected list, add, drain, enable, remove or weight" backend frob
usage_error "baton migrate expand: unknown option '--from'; 'baton migrate expand --help' lists the options" \
    migrate expand --from 1.0
usage_error "baton migrate check: missing --release REL; 'baton migrate check --help' shows the usage" \
    migrate check
usage_error "baton lazy sweep: invalid --batch '0': expected 1..100000000" lazy sweep --batch 0 --store x --chain y
for verb in run upgrade rollback status stop reexec proxy backend switch load lazy migrate; do
    "$BATON" $verb --help >/dev/null || fail "baton $verb --help: exit $?"
done

# load: a bare --duration is seconds, a unit is honoured; --timeout and the old
# --timeout-ms both take durations.
port=$(free_port)
PORT=$port "$EXAMPLES/httpapp" --version v1 2>"$T_DIR/app.log" &
track $!
wait_for 10 port_open "$port" || fail "app did not start"
# (timers tick in whole milliseconds: a run may report a millisecond short of its length)
load_ms() { # load_ms ARGS...: the duration_ms of a load run's report
    "$BATON" load "http://127.0.0.1:$port/" --connections 2 --json "$@" >"$T_DIR/load.json" 2>>"$T_DIR/load.log" ||
        fail "load $*: $(cat "$T_DIR/load.json")"
    jget "$T_DIR/load.json" .duration_ms
}
ms=$(load_ms --duration 0.5 --timeout 2s)
[ "$ms" -ge 450 ] && [ "$ms" -lt 60000 ] || fail "--duration 0.5 ran $ms ms"
ms=$(load_ms --duration 300ms --timeout-ms 2000)
[ "$ms" -ge 250 ] && [ "$ms" -lt 60000 ] || fail "--duration 300ms ran $ms ms"

# migrate: the new spellings and the old ones, on the command line and in --config.
m=$T_DIR/migrations
mkdir -p "$m"
cp "$REPO"/examples/migrations/* "$m/"
export BATON_DB=sqlite:$T_DIR/app.db BATON_MIGRATIONS=$m
for o in "--lease 2s" "--lease-ms 2000" "--wait 1.5m" "--lock-timeout 1s" "--time-target 80ms" \
    "--batch-sleep 0" "--batch-sleep-ms 5"; do
    # shellcheck disable=SC2086 # the option and its value are two words
    "$BATON" migrate status $o >/dev/null 2>>"$T_DIR/migrate.log" || fail "migrate status $o refused"
done
printf '[migrate]\nlease = 45s\nlock-timeout-ms = 750\nbatch-sleep = 10ms\n' >"$T_DIR/new.ini"
"$BATON" migrate --config "$T_DIR/new.ini" status >/dev/null 2>>"$T_DIR/migrate.log" || fail "config keys with units refused"
printf '[migrate]\nlease-ms = 0\n' >"$T_DIR/bad.ini"
out=$("$BATON" migrate --config "$T_DIR/bad.ini" status 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "baton migrate status: invalid --lease-ms '0': expected 100ms..100000s" ] ||
    fail "a config value out of range: exit $rc: $out"
"$BATON" migrate expand --to 0002_add_email 2>>"$T_DIR/migrate.log" || fail "migrate expand --to"
[ "$("$BATON" migrate status --json | jq -r '.[1].phase')" = backfilled ] || fail "expand did not run"

log "a command that is not valid UTF-8 is refused, never sent with a hole in it"
out=$("$BATON" upgrade --name utf8 -- $'/bin/\xff' --version v2 2>&1); rc=$?
[ $rc -eq 2 ] && [ "$out" = "baton upgrade: argument 1 of the command is not valid UTF-8" ] ||
    fail "a command with a byte 0xff: exit $rc: $out"
