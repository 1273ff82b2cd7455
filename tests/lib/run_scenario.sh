# Scenarios of `baton run` under load, as data: the steps a case file of
# tests/integration/run/ or modeproxy/ may use, and what each one checks. An area's
# driver.sh sets SC_MODE (handoff, proxy or reuseport), sources this file and calls
# scenario_main CASE-FILE. Generation G runs `httpapp --version vG`, so a version names
# its generation, and a rollback brings an earlier name back.
#
#   master [RUN-OPTIONS] [-- APP-ARGS]
#       starts `baton run` (SC_MODE) with generation 1 = httpapp --version v1 APP-ARGS.
#       Proxy mode: status shows the mode, the proxy worker (0 restarts) and generation
#       1's private ports, each in this test's range and answering v1.
#   load keepalive|close CONNECTIONS
#       starts `baton load` on the public port; it runs until load-end (or the case's
#       end), never for a fixed time.
#   upgrade [APP-ARGS]   (upgrades N: N of them)
#       the load, if any, has been answered by the serving version; then the upgrade
#       must succeed: the reply names the next generation, the new version answers,
#       and at load-end no connection made after the switch was answered by the
#       replaced version. Proxy mode: the same proxy worker.
#   upgrade-fails [APP-ARGS]  followed by  reason REGEX
#       the upgrade exits 1 with a message matching REGEX (grep -E); the serving
#       version still answers.
#   rollback
#       `baton rollback`: the next generation runs the command of the version served
#       before the current one; that version answers and status shows it current.
#   reexec N
#       N re-execs, each answered by the same master pid and followed (under load) by
#       more answered requests; then the current generation has the same workers (and,
#       in proxy mode, ports and proxy worker, still ready), and the re-exec count adds up.
#   stream
#       a request whose answer streams (GET /stream, a chunk every 100 ms) is held
#       open through the public port: the serving version answers it and keeps it
#       (and so stays draining after an upgrade) until stream-end
#   stream-end
#       the stream was still open and every chunk came from the version it started
#       on; then it is closed
#   signal SIG            kill -SIG the master
#   serves                the serving version answers a new connection
#   status JQ             the status (JSON) satisfies the jq filter JQ now
#   wait-status JQ        ... within 60 s
#   load-end
#       the load is stopped now that the scenario is over: it must not have ended by
#       itself, the serving version answered it, 0 requests failed, and every switch
#       it saw holds (see upgrade).
#   load-versions V[,V...]  exactly these versions answered the (ended) load
#   ports-distinct        every worker this case started had a private port of its own
#   stop                  `baton stop`; the master exits 0
# After the last step: a load still running gets load-end; in proxy mode, a master
# still running has the proxy worker it started with.
. "$(dirname "${BASH_SOURCE[0]}")/case.sh"
. "$(dirname "${BASH_SOURCE[0]}")/master.sh"
. "$(dirname "${BASH_SOURCE[0]}")/load.sh"
CASE_TEXT_STEPS="reason status wait-status"
: "${SC_MODE:=handoff}"
SC_PROXY_MODE=http
SC_WORKERS=1
SC_GEN=0         # the last generation started
SC_CUR_GEN=0     # the generation serving
SC_SERVING=      # its version
SC_PREV=         # the version served before it (what rollback brings back)
SC_PROXY=        # the proxy worker's pid (proxy mode)
SC_REEXECS=0
SC_LOAD=         # the running load's name
SC_NLOADS=0
SC_SWITCHES=()   # "VERSION SWITCHED_UNIX_MS" of the running load
SC_FAILED_OUT=   # the message of the last upgrade-fails
SC_STOPPED=0
SC_STREAM=       # curl holding the stream open, and the version that answered it
SC_STREAM_VERSION=

# Placeholders in APP-ARGS: {free_port} becomes a free port.
sc_expand() {
    local w
    SC_WORDS=()
    for w in "$@"; do
        [ "$w" = "{free_port}" ] && w=$(free_port)
        SC_WORDS+=("$w")
    done
}

step_master() {
    local opts=() app=() seen_dashes=0 w i
    for w in "$@"; do
        if [ $seen_dashes = 1 ]; then app+=("$w")
        elif [ "$w" = -- ]; then seen_dashes=1
        else opts+=("$w"); fi
    done
    for ((i = 0; i < ${#opts[@]}; i++)); do
        case "${opts[i]}" in
        --workers) SC_WORKERS=${opts[i + 1]} ;;
        --proxy-mode) SC_PROXY_MODE=${opts[i + 1]} ;;
        esac
    done
    sc_expand "${app[@]}"
    if [ "$SC_MODE" = proxy ]; then
        master_start_proxy "${opts[@]}" -- "$APP" --version v1 "${SC_WORDS[@]}"
    elif [ "$SC_MODE" = reuseport ]; then
        master_start --mode reuseport "${opts[@]}" -- "$APP" --version v1 "${SC_WORDS[@]}"
    else
        master_start "${opts[@]}" -- "$APP" --version v1 "${SC_WORDS[@]}"
    fi
    SC_GEN=1 SC_CUR_GEN=1 SC_SERVING=v1
    [ "$(version_now)" = v1 ] || fail "v1 does not serve"
    [ "$SC_MODE" = proxy ] && sc_check_proxy_status
    return 0
}

# What status shows of a proxy-mode master that just started.
sc_check_proxy_status() {
    local st text p
    st=$(master_ctl status --json)
    jq -e --arg m "$SC_PROXY_MODE" '.mode == "proxy" and .proxy.pid > 0 and .proxy.mode == $m' \
        <<<"$st" >/dev/null || fail "status does not show a $SC_PROXY_MODE proxy worker: $st"
    SC_PROXY=$(jq .proxy.pid <<<"$st")
    text=$(master_ctl status)
    grep -qE "^proxy worker $SC_PROXY \($SC_PROXY_MODE mode(, ready)?\), 0 restarts" <<<"$text" ||
        fail "status does not show the proxy worker: $text"
    for p in $(gen_ports 1); do
        [ "$p" -ge "$PRIV_LO" ] && [ "$p" -le "$PRIV_HI" ] ||
            fail "generation 1 port $p is outside $PRIV_LO-$PRIV_HI"
        [ "$(curl -s "http://127.0.0.1:$p/" | head -1)" = v1 ] ||
            fail "v1 does not answer on its private port $p"
        grep -qE "^1 +serving .* [0-9]+:r@$p( |$)" <<<"$text" ||
            fail "status does not show generation 1's port $p: $text"
    done
}

sc_check_proxy_same() {
    [ "$SC_MODE" = proxy ] || return 0
    [ "$(proxy_pid)" = "$SC_PROXY" ] || fail "the proxy worker changed (was $SC_PROXY): $(master_ctl status --json | jq -c .proxy)"
}

step_load() {
    [ -z "$SC_LOAD" ] || fail "$(case_where): a load is already running"
    SC_NLOADS=$((SC_NLOADS + 1))
    SC_LOAD=load$SC_NLOADS SC_SWITCHES=()
    load_start_kind "$SC_LOAD" "$URL" "$@"
}

# Before the serving version is replaced: the load (if any) has reached it.
sc_load_reached_serving() {
    [ -z "$SC_LOAD" ] || load_wait_version "$SC_LOAD" "$SC_SERVING"
}

# A new generation serves VERSION since SWITCHED_UNIX_MS (the old one stopped accepting).
sc_switched() {
    local v=$1 switched=$2 keep=() s
    if [ -n "$SC_LOAD" ]; then
        # a version that serves again answers new connections again: no switch check
        for s in "${SC_SWITCHES[@]}"; do [ "${s%% *}" = "$v" ] || keep+=("$s"); done
        SC_SWITCHES=("${keep[@]}" "$SC_SERVING $switched")
    fi
    SC_PREV=$SC_SERVING SC_SERVING=$v SC_CUR_GEN=$SC_GEN
    [ "$(version_now)" = "$v" ] || fail "$v does not serve after the switch"
    sc_check_proxy_same
}

step_upgrade() {
    local v=v$((SC_GEN + 1)) out
    sc_load_reached_serving
    sc_expand "$@"
    out=$(master_ctl upgrade --json -- "$APP" --version "$v" "${SC_WORDS[@]}" 2>&1) ||
        fail "upgrade to $v failed: $out"
    SC_GEN=$((SC_GEN + 1))
    [ "$(jq -r .generation <<<"$out")" = "$SC_GEN" ] || fail "upgrade to $v: $out"
    sc_switched "$v" "$(jq -r .switched_unix_ms <<<"$out")"
}

step_upgrades() { case_repeat "${1:?count}" step_upgrade; }

step_upgrade_fails() {
    local v=v$((SC_GEN + 1)) rc
    case_followed_by reason
    sc_expand "$@"
    SC_FAILED_OUT=$(master_ctl upgrade -- "$APP" --version "$v" "${SC_WORDS[@]}" 2>&1)
    rc=$?
    SC_GEN=$((SC_GEN + 1))
    log "upgrade to $v: exit $rc: $SC_FAILED_OUT"
    [ $rc -eq 1 ] || fail "upgrade to $v exited $rc, expected 1"
    [ "$(version_now)" = "$SC_SERVING" ] || fail "$SC_SERVING does not serve after the rollback of $v"
    sc_check_proxy_same
}

step_reason() {
    case_follows upgrade-fails
    grep -qE -- "$1" <<<"$SC_FAILED_OUT" || fail "upgrade to v$SC_GEN: unexpected message: $SC_FAILED_OUT"
}

step_rollback() {
    local back=$SC_PREV out
    [ -n "$back" ] || fail "$(case_where): no earlier version to roll back to"
    sc_load_reached_serving
    out=$(master_ctl rollback --json 2>&1) || fail "rollback failed: $out"
    SC_GEN=$((SC_GEN + 1))
    [ "$(jq -r .generation <<<"$out")" = "$SC_GEN" ] || fail "rollback did not start generation $SC_GEN: $out"
    sc_switched "$back" "$(jq -r .switched_unix_ms <<<"$out")"
    status_holds ".generations[]|select(.current)|.command|index(\"$back\")" ||
        fail "status does not show $back's command as current"
}

step_reexec() {
    local i out workers ports
    workers=$(worker_pids "$SC_CUR_GEN" | sort | tr '\n' ' ')
    [ "$SC_MODE" = proxy ] && ports=$(gen_ports "$SC_CUR_GEN" | tr '\n' ' ')
    log "re-exec with generations $(master_ctl status --json | jq -c '[.generations[]|{id,state}]')"
    for ((i = 1; i <= ${1:?count}; i++)); do
        out=$(master_ctl reexec --json 2>&1) || fail "reexec $i failed: $out"
        [ "$(jq .pid <<<"$out")" = "$MASTER" ] || fail "reexec $i changed the pid: $out"
        SC_REEXECS=$((SC_REEXECS + 1))
        [ -z "$SC_LOAD" ] || load_wait_more "$SC_LOAD" 20
    done
    out=$(master_ctl status --json)
    [ "$(jq .pid <<<"$out")" = "$MASTER" ] || fail "the master's pid changed: $out"
    [ "$(jq .reexecs <<<"$out")" = "$SC_REEXECS" ] || fail "expected $SC_REEXECS re-execs: $out"
    [ "$(worker_pids "$SC_CUR_GEN" | sort | tr '\n' ' ')" = "$workers" ] ||
        fail "the workers changed across re-exec"
    [ "$SC_MODE" = proxy ] || return 0
    [ "$(gen_ports "$SC_CUR_GEN" | tr '\n' ' ')" = "$ports" ] || fail "the ports changed across re-exec: $ports"
    [ "$(jq .proxy.ready <<<"$out")" = true ] || fail "the proxy worker lost its readiness across re-exec"
    sc_check_proxy_same
}

step_stream() {
    local f=$T_DIR/stream.out
    [ -z "$SC_STREAM" ] || fail "$(case_where): a stream is already open"
    curl -sN --max-time 3600 "${URL}stream?ms=3600000" >"$f" 2>&1 &
    SC_STREAM=$!
    track "$SC_STREAM"
    wait_for 60 test -s "$f" || fail "the stream got no answer"
    SC_STREAM_VERSION=$(head -1 "$f")
    [ "$SC_STREAM_VERSION" = "$SC_SERVING" ] || fail "the stream was answered by $SC_STREAM_VERSION, not $SC_SERVING"
}

step_stream_end() {
    local f=$T_DIR/stream.out
    [ -n "$SC_STREAM" ] || fail "$(case_where): no stream is open"
    kill -0 "$SC_STREAM" 2>/dev/null || fail "the stream ended before stream-end: $(tail -3 "$f")"
    kill "$SC_STREAM"
    wait "$SC_STREAM" 2>/dev/null
    [ "$(sort -u "$f")" = "$SC_STREAM_VERSION" ] ||
        fail "the stream changed versions: $(sort "$f" | uniq -c | tr '\n' ' ')"
    log "stream: $(wc -l <"$f") chunks from $SC_STREAM_VERSION"
    SC_STREAM=
}

step_signal() {
    kill -"${1:?signal}" "$MASTER" || fail "cannot send SIG$1 to the master"
    [ "$1" = USR2 ] && SC_REEXECS=$((SC_REEXECS + 1))
    return 0
}

step_serves() { [ "$(version_now)" = "$SC_SERVING" ] || fail "$SC_SERVING does not serve"; }

step_status() { status_holds "$1" || fail "status does not satisfy $1: $(master_ctl status --json)"; }
step_wait_status() {
    wait_for 60 status_holds "$1" || fail "status did not come to satisfy $1: $(master_ctl status --json)"
}

step_load_end() {
    [ -n "$SC_LOAD" ] || fail "$(case_where): no load is running"
    sc_load_reached_serving
    load_end "$SC_LOAD" check_switch "${SC_SWITCHES[@]}"
    SC_LOAD=
}

step_load_versions() {
    local name=load$SC_NLOADS
    [ -z "$SC_LOAD" ] || fail "$(case_where): end the load first (load-end)"
    [ "$(load_versions "$name")" = "${1:?versions}" ] ||
        fail "$name: versions $(load_versions "$name") answered, expected $1: $(jq -c .versions "$T_DIR/$name.json")"
}

# "generation N: started worker PID (slot S, port P)": one line per worker started.
step_ports_distinct() {
    local ports
    ports=$(sed -n 's/.*generation \([0-9]*\): started worker [0-9]* (slot [0-9]*, port \([0-9]*\)).*/\1:\2/p' "$T_DIR/master.log")
    [ "$(grep -c . <<<"$ports")" = "$((SC_GEN * SC_WORKERS))" ] ||
        fail "expected $((SC_GEN * SC_WORKERS)) workers started: $(echo $ports)"
    [ "$(cut -d: -f2 <<<"$ports" | sort -u | grep -c .)" = "$((SC_GEN * SC_WORKERS))" ] ||
        fail "generations shared private ports: $(echo $ports)"
}

step_stop() {
    [ -z "$SC_LOAD" ] || step_load_end
    sc_check_proxy_same
    log "generations left before stop: $(master_ctl status --json | jq -c '[.generations[]|{id,state}]')"
    master_stop
    SC_STOPPED=1
}

# scenario_main CASE-FILE: reads the case, runs its steps, then the closing checks.
scenario_main() {
    case_read "$1"
    case_run
    [ -z "$SC_LOAD" ] || step_load_end
    [ $SC_STOPPED = 1 ] || [ -z "$MASTER" ] || sc_check_proxy_same
}
