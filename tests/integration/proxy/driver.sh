#!/usr/bin/env bash
# Runs one case of tests/integration/proxy/cases/: `baton proxy` in front of httpapp
# backends, switched, drained and upgraded under load, as data (tests/lib/case.sh).
# Usage: driver.sh CASE-FILE, as tests/integration/run.sh does. The steps:
#
#   relays R [R...]     (first step) the whole case runs once per relay path R, each
#                       `proxy` getting --relay R: a proxy case runs through splice
#                       and copy (tcp), or auto and copy (http)
#   app NAME [HTTPAPP-ARGS]   httpapp --version NAME on a free port, {NAME} in later
#                       steps
#   proxy [PROXY-ARGS]  `baton proxy` on a free port; {NAME} becomes app NAME's port
#   proxy-under-run [PROXY-ARGS]  the same proxy as a generation of `baton run`
#                       (listener inherited, --state-file in the test's directory)
#   upgrade-proxy       `baton upgrade` of that proxy: it must succeed
#   load keepalive|close CONNECTIONS   `baton load` through the proxy, until load-end
#   switch POOL [--drain-timeout D]    `baton switch POOL`: first the load (if any) has
#                       been answered by the pool being left; at load-end no request
#                       sent (http) or connection made (tcp) after the switch was
#                       answered by the old pool's version
#   load-end            stops the load: it ran until now, 0 requests failed, every
#                       switch holds, the version serving answered it
#   load-versions V[,V...]   exactly these versions answered the (ended) load
#   load-again VERSION  the running load is answered by VERSION again (after it came
#                       back): waits for answers beyond those it had given so far
#   kill-app NAME       kill -9 app NAME;  restart-app NAME: starts it again, same port
#   serves VERSION      a new request through the proxy is answered by VERSION
#   backend NAME STATE  backend NAME comes to STATE (up, down, draining, drained)
#                       within 60 s; drained also means 0 connections
#   conns NAME N        backend NAME comes to hold N connections within 60 s
#   status JQ           `backend list --json` satisfies the jq filter JQ
#   stream NAME VERSION a GET /stream through the proxy, answered by VERSION, that the
#                       app keeps sending until stream-end (hard cap 10 min)
#   stream-end NAME     the stream was still open; the app ends it: it completes (the
#                       last chunk arrives), every chunk from its version
#   stream-cut NAME     the proxy cuts the stream (a drain timeout): it ends within 60 s
#                       without its last chunk
#   log TEXT            the proxy's log holds TEXT ({NAME} expanded)
#   stop                SIGTERM: the proxy exits 0
T_NAME=proxy.$(basename "${1:?usage: driver.sh CASE-FILE}" .case)
. "$(dirname "$0")/../../lib/case.sh"
. "$(dirname "$0")/../../lib/load.sh"
. "$(dirname "$0")/lib.sh"
CASE_TEXT_STEPS="status log"
STREAM_CAP_MS=600000
declare -A APP_PORTS=() APP_PIDS=() APP_ARGS=() STREAM_PID=() STREAM_VERSION=()
PD_RELAY=      # the relay path of this pass ("" without a relays step)
PD_MODE=tcp    # the proxy's --mode
PD_POOL=       # the version the active pool answers with
PD_UP=         # "proxy" or "run" once started
PD_LOAD=       # the running load's name
PD_NLOADS=0
PD_SWITCHES=() # "VERSION SWITCHED_UNIX_MS" of the running load
PD_SEEN=0      # answers of load-again's version when it was called

# pd_expand WORDS...: PD_WORDS with each {NAME} replaced by app NAME's port.
pd_expand() {
    local w name
    PD_WORDS=()
    for w in "$@"; do
        for name in "${!APP_PORTS[@]}"; do w=${w//\{$name\}/${APP_PORTS[$name]}}; done
        [[ "$w" == *\{*\}* ]] && fail "$(case_where): no app for the placeholder in '$w'"
        PD_WORDS+=("$w")
    done
}

# pd_proxy_args ARGS...: PD_WORDS for a proxy: placeholders, --relay of this pass,
# PD_MODE and the version the first pool answers with (its first backend's app).
pd_proxy_args() {
    local i first=
    pd_expand "$@"
    [ -n "$PD_RELAY" ] && PD_WORDS+=(--relay "$PD_RELAY")
    for ((i = 0; i < ${#PD_WORDS[@]}; i++)); do
        case "${PD_WORDS[i]}" in
        --mode) PD_MODE=${PD_WORDS[i + 1]} ;;
        --backend) [ -n "$first" ] || first=${PD_WORDS[i + 1]} ;;
        esac
    done
    first=${first%%=*} first=${first%%/*}
    PD_POOL=$first
}

url() { echo "http://127.0.0.1:$PX_PORT/"; }
answer() { curl -s --max-time 10 "$(url)" | head -1; }

step_relays() { [ "$CASE_AT" = 0 ] || fail "$(case_where): relays comes first"; }

step_app() {
    local name=${1:?name}
    shift
    start_app "$name" "$@"
    APP_PORTS[$name]=$APP_PORT
    APP_ARGS[$name]="$*"
    eval "APP_PIDS[\$name]=\$APP_PID_${name//-/_}"
}

step_kill_app() {
    kill -KILL "${APP_PIDS[${1:?name}]}" 2>/dev/null || fail "app $1 was not running"
    wait "${APP_PIDS[$1]}" 2>/dev/null
    return 0
}

step_restart_app() {
    local name=${1:?name} port=${APP_PORTS[$1]}
    # shellcheck disable=SC2086 # the app's words, as the case gave them
    PORT=$port "$EXAMPLES/httpapp" --version "$name" ${APP_ARGS[$name]} 2>>"$T_DIR/app-$name.log" &
    APP_PIDS[$name]=$!
    track $!
    wait_for 10 port_open "$port" || fail "httpapp $name did not listen again on $port"
}

step_proxy() {
    pd_proxy_args "$@"
    start_proxy "${PD_WORDS[@]}"
    PD_UP=proxy
}

step_proxy_under_run() {
    pd_proxy_args "$@"
    PX_PORT=$(free_port)
    "$BATON" run --listen "127.0.0.1:$PX_PORT" --control "$T_DIR/run.sock" --drain-timeout 10 -- \
        "$BATON" proxy --state-file "$T_DIR/proxy-state.json" --control "$PX_CTL" "${PD_WORDS[@]}" \
        2>>"$T_DIR/proxy.log" &
    PX_PID=$!
    track $PX_PID
    wait_for 30 ctl backend list || fail "the proxy under baton run did not start"
    wait_for 10 port_open "$PX_PORT" || fail "baton run did not listen on $PX_PORT"
    PD_UP=run
}

step_upgrade_proxy() {
    local out
    [ "$PD_UP" = run ] || fail "$(case_where): the proxy does not run under baton run"
    out=$("$BATON" upgrade --control "$T_DIR/run.sock" 2>&1) || fail "the proxy's upgrade failed: $out"
    log "upgrade: $out"
}

step_load() {
    [ -z "$PD_LOAD" ] || fail "$(case_where): a load is already running"
    PD_NLOADS=$((PD_NLOADS + 1))
    PD_LOAD=load$PD_NLOADS${PD_RELAY:+-$PD_RELAY} PD_SWITCHES=()
    load_start_kind "$PD_LOAD" "$(url)" "$@"
}

step_switch() {
    local pool=${1:?pool} out
    shift
    [ -z "$PD_LOAD" ] || load_wait_version "$PD_LOAD" "$PD_POOL"
    out=$(ctl switch "$pool" --json "$@" 2>&1) || fail "switch to $pool failed: $out"
    [ -z "$PD_LOAD" ] || PD_SWITCHES+=("$PD_POOL $(jq -r .switched_unix_ms <<<"$out")")
    PD_POOL=$pool
}

# pd_check_switch LOAD VERSION SWITCHED_UNIX_MS: in http mode every request is routed
# on its own, so no request sent after the switch reached VERSION; in tcp mode a
# connection is, so no connection made after it did (tests/lib/load.sh check_switch).
pd_check_switch() {
    local f=$T_DIR/$1.json sent
    [ "$PD_MODE" = http ] || { check_switch "$@"; return; }
    sent=$(jq -r --arg v "$2" 'if .versions[$v] then .versions[$v].last_sent_ms + .start_unix_ms else 0 end' "$f")
    [ "${sent%.*}" -le "$(($3 + CONNECT_OBSERVE_SLACK_MS))" ] ||
        fail "$1: version $2 answered a request sent at $sent, after the switch at $3"
}

step_load_end() {
    [ -n "$PD_LOAD" ] || fail "$(case_where): no load is running"
    load_wait_version "$PD_LOAD" "$PD_POOL"
    load_end "$PD_LOAD" pd_check_switch "${PD_SWITCHES[@]}"
    PD_LOAD=
}

step_load_versions() {
    local name=load$PD_NLOADS${PD_RELAY:+-$PD_RELAY}
    [ -z "$PD_LOAD" ] || fail "$(case_where): end the load first (load-end)"
    [ "$(load_versions "$name")" = "${1:?versions}" ] ||
        fail "$name: versions $(load_versions "$name") answered, expected $1"
}

# pd_answers VERSION: how many of the running load's answers came from VERSION so far.
pd_answers() { grep '^{' "$T_DIR/$PD_LOAD.live" | jq -s --arg v "$1" 'map(.versions[$v] // 0) | add // 0'; }
pd_answers_above() { [ "$(pd_answers "$1")" -gt "$2" ]; }

step_load_again() {
    [ -n "$PD_LOAD" ] || fail "$(case_where): no load is running"
    local n
    n=$(pd_answers "${1:?version}")
    wait_for 60 pd_answers_above "$1" "$n" || fail "$PD_LOAD: $1 did not answer the load again (still $n answers)"
}

step_serves() { [ "$(answer)" = "${1:?version}" ] || fail "$1 does not answer a new request (got '$(answer)')"; }

step_backend() {
    local name=${1:?name} state=${2:?state}
    wait_for 60 backend_is "$name" "$state" || fail "backend $name is not $state: $(ctl backend list --json)"
    [ "$state" != drained ] || [ "$(backend_field "$name" connections)" = 0 ] ||
        fail "drained backend $name still holds connections"
}

step_conns() {
    wait_for 60 backend_conns_are "${1:?name}" "${2:?count}" ||
        fail "backend $1 holds $(backend_field "$1" connections) connections, expected $2"
}

step_status() {
    ctl backend list --json | jq -e "$1" >/dev/null ||
        fail "backend list does not satisfy $1: $(ctl backend list --json)"
}

step_stream() {
    local name=${1:?name} f=$T_DIR/stream-$1${PD_RELAY:+-$PD_RELAY}.out
    rm -f "$T_DIR/$name.end"
    curl -sS -N --max-time $((STREAM_CAP_MS / 1000 + 60)) \
        "$(url)stream?ms=$STREAM_CAP_MS&until=$T_DIR/$name.end" >"$f" 2>"$f.err" &
    STREAM_PID[$name]=$!
    track $!
    wait_for 60 test -s "$f" || fail "stream $name got no answer"
    STREAM_VERSION[$name]=$(head -1 "$f")
    [ "${STREAM_VERSION[$name]}" = "${2:?version}" ] || fail "stream $name answered by ${STREAM_VERSION[$name]}, not $2"
}

# pd_stream_over NAME: the stream's curl has ended; its exit status in PD_RC.
pd_stream_over() { ! kill -0 "${STREAM_PID[$1]}" 2>/dev/null; }
pd_stream_wait() {
    local name=$1
    wait_for 60 pd_stream_over "$name" || fail "stream $name did not end within 60 s"
    PD_RC=0
    wait "${STREAM_PID[$name]}" || PD_RC=$?
}

step_stream_end() {
    local name=${1:?name} f=$T_DIR/stream-$1${PD_RELAY:+-$PD_RELAY}.out
    pd_stream_over "$name" && fail "stream $name ended before stream-end: $(cat "$f.err")"
    touch "$T_DIR/$name.end"
    pd_stream_wait "$name"
    [ $PD_RC = 0 ] || fail "stream $name failed (curl exit $PD_RC): $(cat "$f.err")"
    [ "$(sort -u "$f")" = "${STREAM_VERSION[$name]}" ] ||
        fail "stream $name changed versions: $(sort "$f" | uniq -c | tr '\n' ' ')"
    log "stream $name: complete, $(wc -l <"$f") chunks from ${STREAM_VERSION[$name]}"
}

step_stream_cut() {
    local name=${1:?name} f=$T_DIR/stream-$1${PD_RELAY:+-$PD_RELAY}.out
    pd_stream_wait "$name"
    [ $PD_RC != 0 ] || fail "stream $name, cut by the proxy, looks complete"
    log "stream $name: cut after $(wc -l <"$f") chunks (curl exit $PD_RC)"
}

step_log() {
    pd_expand "$1"
    grep -qF -- "${PD_WORDS[0]}" "$T_DIR/proxy.log" || fail "the proxy's log lacks: ${PD_WORDS[0]}"
}

step_stop() {
    [ -z "$PD_LOAD" ] || step_load_end
    case "$PD_UP" in
    proxy) stop_proxy ;;
    run) "$BATON" stop --control "$T_DIR/run.sock" >/dev/null || fail "baton stop failed"
        wait "$PX_PID" || fail "baton run exited $? after baton stop" ;;
    *) fail "$(case_where): no proxy is running" ;;
    esac
    PD_UP=
}

# pd_pass: runs the case once; then ends what it left running.
pd_pass() {
    PD_NLOADS=0
    case_run
    [ -z "$PD_LOAD" ] || step_load_end
    [ -z "$PD_UP" ] || step_stop
    rm -f "$PX_CTL"
    [ -z "$PD_RELAY" ] || mv "$T_DIR/proxy.log" "$T_DIR/proxy-$PD_RELAY.log"
    PD_UP=
}

case_read "$1"
if [ "${CASE_STEP[0]}" = relays ]; then
    for PD_RELAY in ${CASE_ARGS[0]}; do
        log "relay path: $PD_RELAY"
        pd_pass
    done
else
    pd_pass
fi
