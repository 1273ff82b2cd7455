# The driver of the deploy scenarios: `driver.sh CASE-FILE` (tests/integration/run.sh
# runs every case this way).
# A scenario is data: tests/integration/deploy/cases/NAME.case, one step per line, each
# line a call of the words defined here (fleet, set, load, deploy, expect_*, ...). The
# fleet (tests/lib/fleet.sh) is N hosts in network namespaces with a real sshd each, the
# example app on each, and HAProxy (or baton proxy) in front, under load all along.
CASE_NAME=$(basename "${1:?usage: driver.sh CASE-FILE}" .case)
T_NAME=deploy.$CASE_NAME
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/fleet.sh"
: "${EXAMPLES:?EXAMPLES must point to the examples build dir}"

CASE=$(dirname "$0")/cases/$CASE_NAME.case
[ -f "$CASE" ] || fail "no scenario $CASE"
STRATEGY=in-place
BALANCER=haproxy
BAL_REMOTE=0
declare -A CFG=([rollout.health]=http:/health [rollout.health-interval]=200ms
    [rollout.health-passes]=2 [rollout.progress-deadline]=20s [rollout.drain-timeout]=10s)
DEPLOY_N=0
DEPLOY_BG=
LOADS=()
# ssh control sockets need a short directory (socket paths are capped at 108 bytes)
DEPLOY_RUN=$(mktemp -d /tmp/btd.XXXXXX)
on_exit "pkill -KILL -f 'ControlPath=$DEPLOY_RUN' ; rm -rf '$DEPLOY_RUN'"
# the service's name is this run's own: the hosts' locks (/var/tmp/baton-deploy-NAME-HOST.hostlock)
# are not shared with another run, and are removed with it
DEPLOY_SERVICE=app-${DEPLOY_RUN##*/}
on_exit "rm -f /var/tmp/baton-deploy-$DEPLOY_SERVICE-*.hostlock"

# --- the fleet -------------------------------------------------------------------------

# fleet N STRATEGY [BALANCER] [remote]: N hosts on v1; BALANCER haproxy (default),
# haproxy-pair (two HAProxy, both updated) or baton-proxy; remote: the balancer's
# sockets are reached over SSH on the lb host (forwarded), else directly.
fleet() {
    STRATEGY=$2 BALANCER=${3:-haproxy}
    [ "${4:-}" = remote ] && BAL_REMOTE=1
    fleet_up "$1"
    fleet_install_script
    for n in "${FLEET_HOSTS[@]}"; do
        if [ "$STRATEGY" = in-place ]; then
            fleet_run_app "$n" v1
        else
            fleet_exec "$n" env FLEET_DIR="$FLEET_DIR" FLEET_HOST="$n" \
                FLEET_ADDR="$(fleet_addr "$n")" "$FLEET_DIR/install" v1 || fail "v1 on $n"
        fi
    done
    case $BALANCER in
    haproxy) fleet_haproxy A ;;
    haproxy-pair) fleet_haproxy A 80; fleet_haproxy B 81 9999 ;;
    baton-proxy) _start_baton_proxy ;;
    esac
}

_start_baton_proxy() {
    local args=() n
    for n in "${FLEET_HOSTS[@]}"; do args+=(--backend "$n=$(fleet_addr "$n"):$FLEET_PORT"); done
    mkdir -p "$FLEET_DIR/lb"
    fleet_exec lb "$BATON_REL" proxy --mode http --listen "$(fleet_addr lb):80" "${args[@]}" \
        --health http:/health --health-interval 200 --control "$FLEET_DIR/lb/proxy.sock" \
        >>"$T_DIR/proxy.log" 2>&1 &
    track $!
    wait_for 20 curl -sf "http://$(fleet_addr lb)/" || fail "baton proxy did not start"
}

# opt SECTION KEY VALUE: a line of the deploy file ("" removes it).
opt() { CFG["$1.$2"]=$3; }

# The deploy file of this scenario.
_deploy_file() {
    local f=$T_DIR/deploy.ini n k
    {
        printf '[service]\nname = %s\nstate = %s\n' "$DEPLOY_SERVICE" "$T_DIR/deploy.state"
        printf '[ssh]\nuser = root\nidentity = %s\nknown-hosts = %s\n' "$FLEET_DIR/id" \
            "$FLEET_DIR/known_hosts"
        printf 'connect-timeout = 5s\ncommand-timeout = 60s\n'
        for n in "${FLEET_HOSTS[@]}"; do
            printf '[host %s]\nssh = %s\n' "$n" "$(fleet_addr "$n")"
            [ "$n" = h1 ] && printf 'group = canary\n'
        done
        printf '[balancer]\n'
        case $BALANCER in
        haproxy) printf 'type = haproxy\nbackend = app\nsocket = unix:%s\n' "$FLEET_DIR/lb/A.sock" ;;
        haproxy-pair) printf 'type = haproxy\nbackend = app\nsocket = unix:%s\nsocket = tcp:%s:9999\n' \
            "$FLEET_DIR/lb/A.sock" "$(fleet_addr lb)" ;;
        baton-proxy) printf 'type = baton-proxy\nsocket = unix:%s\n' "$FLEET_DIR/lb/proxy.sock" ;;
        esac
        [ $BAL_REMOTE -eq 1 ] && printf 'host = %s\n' "$(fleet_addr lb)"
        printf 'timeout = 5s\n[app]\nstrategy = %s\nport = %s\n' "$STRATEGY" "$FLEET_PORT"
        if [ "$STRATEGY" = in-place ]; then
            printf 'name = app\nbaton = %s\ncommand = %s {release}\n' "${HOST_BATON:-$BATON_REL}" \
                "$FLEET_DIR/release"
        else
            printf 'upgrade = %s {release}\nprobe = cat "$FLEET_DIR/$FLEET_HOST/release"\n' \
                "$FLEET_DIR/install"
        fi
        printf '[rollout]\n'
        for k in "${!CFG[@]}"; do
            [ "${k%%.*}" = rollout ] && [ -n "${CFG[$k]}" ] && printf '%s = %s\n' "${k#*.}" "${CFG[$k]}"
        done
        if [ -n "${CFG[database.url]:-}" ]; then
            printf '[database]\nurl = %s\ndir = %s\n' "${CFG[database.url]}" "${CFG[database.dir]}"
        else
            printf '[lease]\npath = %s\n' "$T_DIR/deploy.lock"
        fi
    } >"$f"
    echo "$f"
}

# database sqlite: the example migrations 0001-0003 on SQLite hold the lease, expand
# before the first host and contract after the last.
database() {
    mkdir -p "$T_DIR/migrations"
    cp "$(dirname "$0")"/../../../examples/migrations/000[1-3]*.migration "$T_DIR/migrations/"
    opt database url "sqlite:$T_DIR/app.db"
    opt database dir "$T_DIR/migrations"
}

# --- load ------------------------------------------------------------------------------

# load NAME [--close]: baton load through the balancer until load_stop NAME.
load() {
    local name=$1; shift
    fleet_load_start "$name" --connections 8 "$@"
    LOADS+=("$name")
    wait_for 10 test -s "$T_DIR/$name.jsonl" || fail "load $name did not start"
}

# load_stop NAME [canary5xx]: stops it; 0 failed requests, or (canary5xx) only 500s,
# at least one and no more than the canary h1 answered according to HAProxy (its
# counter also counts a server's 5xx that did not reach this load: once 1019 against
# the load's 1018, with 0 failures of any other kind).
load_stop() {
    local name=$1 got bad h1
    got=$(fleet_load_stop "$name")
    log "load $name: $got (requests failed); $(jq -c '{failures, versions}' "$T_DIR/$name.json")"
    [ "${got% *}" -gt 0 ] || fail "load $name sent no request"
    if [ "${2:-}" != canary5xx ]; then
        [ "${got#* }" -eq 0 ] || fail "load $name: ${got#* } failed requests: $(jq -c .failures "$T_DIR/$name.json")"
        return 0
    fi
    h1=$(fleet_hap A "show stat app 4 -1" | awk -F, '$2 == "h1" {print $44}')
    bad=$(jq .failures.bad_status "$T_DIR/$name.json")
    [ "${got#* }" -eq "$bad" ] && [ "$bad" -gt 0 ] && [ "$bad" -le "$h1" ] ||
        fail "load $name: $(jq -c .failures "$T_DIR/$name.json") but h1 answered $h1 5xx"
}

# --- the deploy ------------------------------------------------------------------------

_baton_deploy() { # _baton_deploy LOG ARGS...
    local out=$1; shift
    local plain=--plain
    [ "$1" = status ] && plain=
    XDG_RUNTIME_DIR=$DEPLOY_RUN "$BATON" deploy "$@" $plain >"$out" 2>&1
}

# deploy|resume|abort ARGS... [expect=CODE] [says=TEXT]: runs it, checks its exit code
# (default 0) and that its output holds TEXT.
_run_expect() {
    local args=() code=0 says= a
    for a in "$@"; do
        case $a in expect=*) code=${a#expect=} ;; says=*) says=${a#says=} ;; *) args+=("$a") ;; esac
    done
    DEPLOY_N=$((DEPLOY_N + 1))
    local out=$T_DIR/deploy$DEPLOY_N.log rc
    _baton_deploy "$out" "${args[@]}"
    rc=$?
    sed "s/^/    deploy#$DEPLOY_N| /" "$out" >&2
    log "deploy #$DEPLOY_N (${args[*]}): exit $rc"
    [ $rc -eq "$code" ] || { tail -30 "$out" >&2; fail "deploy ${args[*]} exited $rc, want $code"; }
    [ -z "$says" ] || grep -qF -- "$says" "$out" || fail "deploy ${args[*]}: no '$says' in its output"
}
deploy() { _run_expect "$(_deploy_file)" "$@"; }
deploy_status() { _run_expect status "$(_deploy_file)" "$@"; }
resume() { _run_expect resume "$(_deploy_file)" "$@"; }
abort() { _run_expect abort "$(_deploy_file)" "$@"; }

# deploy_bg RELEASE: a deploy in the background (kill9 / deploy_wait end it).
deploy_bg() {
    local f
    f=$(_deploy_file)
    DEPLOY_N=$((DEPLOY_N + 1))
    # a simple command, so that $! is baton deploy itself (kill9 kills it, not a shell)
    XDG_RUNTIME_DIR=$DEPLOY_RUN "$BATON" deploy "$f" "$@" --plain >"$T_DIR/deploy$DEPLOY_N.log" 2>&1 &
    DEPLOY_BG=$!
    track "$DEPLOY_BG"
}

# when JQ-CONDITION: waits (60 s at most) until the progress file satisfies it.
when() {
    wait_for 60 jq -e "$1" "$T_DIR/deploy.state" || fail "the progress never showed: $1"
}

# host_busy HOST: waits (60 s at most) until HOST's master (in-place) runs an operation.
host_busy() {
    wait_for 60 _host_busy "$1" || fail "$1's master never ran an operation"
}
_host_busy() {
    fleet_exec "$1" env XDG_RUNTIME_DIR="$FLEET_DIR/$1/run" "$BATON_REL" status --name app --json |
        jq -e '.operation != null' >/dev/null
}

# hold_upgrade HOST: in-place, the `baton upgrade` the deploy runs on HOST returns only
# after release_hold (60 s at most); the upgrade itself runs at once. The deploy then
# stays in HOST's "upgrading" state for as long as a scenario needs, on any machine.
hold_upgrade() {
    [ "$STRATEGY" = in-place ] || fail "hold_upgrade needs an in-place fleet (this one is $STRATEGY)"
    HOST_BATON=$T_DIR/baton-hold
    cat >"$HOST_BATON" <<EOF
#!/bin/sh
# baton as the deploy runs it on the hosts; on $1 an upgrade waits for release_hold
"$BATON_REL" "\$@"
rc=\$?
if [ "\$1" = upgrade ] && [ "\$FLEET_HOST" = $1 ]; then
    touch "$T_DIR/held-$1"
    i=0
    while [ ! -e "$T_DIR/hold-released" ] && [ \$i -lt 1200 ]; do sleep 0.05; i=\$((i + 1)); done
fi
exit \$rc
EOF
    chmod +x "$HOST_BATON"
}
# held HOST: waits (60 s at most) until HOST's held upgrade has run.
held() {
    wait_for 60 test -e "$T_DIR/held-$1" || fail "$1's upgrade was never held"
}
release_hold() { touch "$T_DIR/hold-released"; }

# kill9: kills the background deploy at once (no cleanup of its own).
kill9() {
    kill -9 "$DEPLOY_BG"
    wait "$DEPLOY_BG" 2>/dev/null
    log "deploy killed (-9) in: $(jq -c '[.hosts[]|.state]' "$T_DIR/deploy.state")"
}

# deploy_wait [CODE]: the background deploy ends with CODE (default 0).
deploy_wait() {
    wait "$DEPLOY_BG"
    local rc=$?
    [ $rc -eq "${1:-0}" ] || { tail -20 "$T_DIR/deploy$DEPLOY_N.log" >&2; fail "background deploy exited $rc"; }
}

# expect_log TEXT: the last deploy's output holds TEXT.
expect_log() { grep -qF -- "$1" "$T_DIR/deploy$DEPLOY_N.log" || fail "no '$1' in deploy #$DEPLOY_N's output"; }

# streams N: N long requests (GET /stream for 60 s) through HAProxy, spread over the
# servers by round robin: a drained server keeps connections.
streams() {
    local i
    for i in $(seq 1 "$1"); do
        curl -s -o /dev/null --max-time 70 "http://$(fleet_addr lb)/stream?ms=60000" &
        track $!
    done
    wait_for 10 bash -c "[ \$(fleet_hap A 'show stat app 4 -1' | awk -F, '/^app,h/ {s += \$5} END {print s}') -ge $1 ]" ||
        fail "the streams did not reach the servers"
}

sshd_stop() { fleet_sshd_stop "$1"; }
sshd_start() { fleet_sshd_start "$1"; }
pause() { sleep "$1"; } # a scenario's own pacing, never an assertion

# --- what must hold ---------------------------------------------------------------------

_hosts() { [ "$1" = all ] && echo "${FLEET_HOSTS[@]}" || echo "${1//,/ }"; }

# expect_release HOSTS VERSION: each host's app answers as VERSION (asked directly).
expect_release() {
    local n v
    for n in $(_hosts "$1"); do
        v=$(curl -s --max-time 5 "http://$(fleet_addr "$n"):$FLEET_PORT/" | head -1)
        [ "$v" = "$2" ] || fail "$n runs '$v', want $2"
    done
}

# expect_upgrades HOSTS N: each host was upgraded exactly N times (in-place: its
# generation number; remove-upgrade-add: the install script's record).
expect_upgrades() {
    local n got
    for n in $(_hosts "$1"); do
        if [ "$STRATEGY" = in-place ]; then
            got=$(fleet_exec "$n" env XDG_RUNTIME_DIR="$FLEET_DIR/$n/run" "$BATON_REL" status \
                --name app --json | jq '[.generations[].id] | max - 1')
        else
            got=$(($(wc -l <"$FLEET_DIR/$n/installs") - 1))
        fi
        [ "$got" -eq "$2" ] || fail "$n was upgraded $got times, want $2"
    done
}

# expect_balancer STATUS: every server of every balancer is STATUS (HAProxy's word, or
# baton proxy's state).
expect_balancer() {
    local b bad
    case $BALANCER in
    baton-proxy)
        bad=$(XDG_RUNTIME_DIR=$DEPLOY_RUN "$BATON_REL" backend list --json \
            --control "$FLEET_DIR/lb/proxy.sock" | jq -r --arg s "$1" '.backends[]|select(.state!=($s|ascii_downcase))|.name')
        [ -z "$bad" ] || fail "baton proxy: $bad not $1" ;;
    *)
        for b in A B; do
            [ -S "$FLEET_DIR/lb/$b.sock" ] || continue
            wait_for 10 bash -c "! fleet_hap_status $b | grep -v ' $1\$'" 2>/dev/null
            bad=$(fleet_hap_status "$b" | grep -v " $1\$")
            [ -z "$bad" ] || fail "HAProxy $b: $bad (want $1)"
        done ;;
    esac
}

# expect_state HOST STEP / expect_phase PHASE / expect_db PHASE: the progress file and
# the migrations' ledger.
expect_state() {
    [ "$(jq -r --arg h "$1" '.hosts[]|select(.name==$h)|.state' "$T_DIR/deploy.state")" = "$2" ] ||
        fail "$1 is $(jq -r --arg h "$1" '.hosts[]|select(.name==$h)|.state' "$T_DIR/deploy.state"), want $2"
}
expect_phase() {
    [ "$(jq -r .phase "$T_DIR/deploy.state")" = "$1" ] || fail "phase $(jq -r .phase "$T_DIR/deploy.state"), want $1"
}
expect_db() {
    local got
    got=$("$BATON_REL" migrate --db "${CFG[database.url]}" --dir "${CFG[database.dir]}" status --json |
        jq -r '[.[].phase] | unique | join(",")')
    [ "$got" = "$1" ] || fail "migrations are '$got', want '$1'"
}

# --- run the scenario --------------------------------------------------------------------
export -f fleet_hap fleet_hap_status
export FLEET_DIR
log "scenario $(basename "$CASE" .case): $(sed -n 's/^# //p' "$CASE" | head -1)"
while read -r line <&9; do
    case $line in '' | '#'*) continue ;; esac
    log "> $line"
    eval "$line"
done 9<"$CASE"
for l in "${LOADS[@]}"; do [ -e "$T_DIR/$l.stop" ] || fail "load $l was never stopped and checked"; done
log "scenario passed"
