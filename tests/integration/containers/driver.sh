#!/usr/bin/env bash
# Runs one case of tests/integration/containers/cases/: `baton run --mode proxy
# --image IMAGE:TAG --container-port 80` with a real container engine (podman unless
# CONTAINER_ENGINE says otherwise), under load. Images are built here from the static
# example app (examples/containers/image.sh: a tarball imported, no registry); tag vG
# runs `httpapp --version vG`, so a version names the generation that runs it.
# Usage: driver.sh CASE-FILE, as tests/integration/run.sh does.
#
#   master [RUN-OPTIONS]
#       starts the master with image tag v1 (--ready http:/health unless given); v1
#       answers and its container NAME-g1 runs.
#   load keepalive|close CONNECTIONS     a load until load-end (never a fixed time)
#   upgrade [APP-ARGS]   (upgrades N: N of them, without APP-ARGS)
#       `baton upgrade --image IMAGE:vG+1` (an image whose app runs with APP-ARGS)
#       succeeds, vG+1 answers; the replaced generation's app got the stop signal
#       inside its container (its "draining" line), the container exited by itself (its
#       worker exits with status 0, no kill) and is removed; at load-end no request
#       sent after the switch was answered by the replaced version. A replaced app that
#       runs with --ignore-term is instead killed at the drain timeout, and its
#       container removed all the same.
#   upgrade-fails APP-ARGS  followed by  reason REGEX
#       an image whose app runs with APP-ARGS: the upgrade exits 1 with a message
#       matching REGEX; the serving version still answers; the failed container is gone.
#   kill-master
#       SIGKILL to the master: the serving version keeps answering (its container and
#       the proxy worker outlive the master).
#   master-again
#       `baton run` again with the same options and image tag vG+1: the containers of
#       the killed master are found by name and drained (each exits by itself and is
#       removed), vG+1 serves, the old proxy worker exits.
#   serves                the serving version answers a new connection
#   status JQ             the status (JSON) satisfies the jq filter JQ
#   load-end              0 failed requests, the serving version answered, switches hold
#   stop                  `baton stop`: the master exits 0 and no container of it is left
T_NAME=containers.$(basename "${1:?usage: driver.sh CASE-FILE}" .case)
# The load's hard cap: 10 upgrades took 3 to 15 minutes on a busy machine (each
# container 1-45 s to start, 3-11 s from the stop signal to its client's exit, 1-7 s to
# be removed), so the default 5m cap could end a healthy load before its last switch.
LOAD_MAX_DURATION=${LOAD_MAX_DURATION:-14m}
# A container took up to 45 s to answer its first health check (load average 45): a
# generation gets --ready-timeout 120s unless the case gives one, and the first one as
# long to serve.
MASTER_START_WAIT=120
. "$(dirname "$0")/../../lib/case.sh"
. "$(dirname "$0")/../../lib/master.sh"
. "$(dirname "$0")/../../lib/load.sh"
CASE_TEXT_STEPS="reason status"
ENGINE=${CONTAINER_ENGINE:-podman}
IMAGE_SH=$(cd "$(dirname "$0")/../../../examples/containers" && pwd)/image.sh
STATIC_APP=$EXAMPLES/static/httpapp
[ -x "$STATIC_APP" ] || fail "no static example app at $STATIC_APP (make all builds it)"
command -v "$ENGINE" >/dev/null || fail "container engine '$ENGINE' not found on PATH"
CT_NAME=bt$RANDOM$RANDOM # the instance: containers are CT_NAME-gN
CT_IMAGE=localhost/baton-test-$CT_NAME
# What rootful podman needs on hosts whose hard limits are below its defaults (see
# docs/containers.md); --pull=never: no registry is asked for a missing image.
CT_RUN_ARGS=(--pull=never --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
CT_OPTS=()
CT_GEN=0 CT_SERVING= CT_FAILED_OUT= CT_LOAD= CT_NLOADS=0 CT_STOPPED=0
CT_OLD_PROXY=
declare -A CT_IGNORES_TERM=() # generations whose app ignores the stop signal
CT_SWITCHES=() # "VERSION SWITCHED_UNIX_MS": VERSION answers nothing sent after it

# After a failure, the load is stopped first: its report and the logs then end where
# the test failed, not with the 503s the proxy worker (which outlives its SIGKILLed
# master) answers while the containers are removed here.
ct_cleanup() {
    [ -z "$CT_LOAD" ] || { kill -TERM "${LOAD_PID[$CT_LOAD]}" && wait "${LOAD_PID[$CT_LOAD]}"; }
    if [ -n "$MASTER" ]; then
        echo "--- the test's cleanup: master SIGKILLed, containers removed ---" >>"$T_DIR/master.log"
        kill -KILL "$MASTER"
    fi
    [ -n "$CT_OLD_PROXY" ] && kill -KILL "$CT_OLD_PROXY"
    local ids
    ids=$("$ENGINE" ps -aq --filter "label=baton.instance=$CT_NAME")
    [ -z "$ids" ] || "$ENGINE" rm -f -t 0 $ids
    ids=$("$ENGINE" images -q "$CT_IMAGE")
    [ -z "$ids" ] || "$ENGINE" rmi -f $ids
}
on_exit ct_cleanup

# ct_image TAG [APP-ARGS...]: builds IMAGE:TAG running httpapp --version TAG APP-ARGS.
ct_image() {
    local tag=$1
    shift
    "$IMAGE_SH" "$ENGINE" "$STATIC_APP" "$CT_IMAGE:$tag" --listen 0.0.0.0:80 --version "$tag" "$@" \
        >>"$T_DIR/images.log" 2>&1 || fail "cannot build image $CT_IMAGE:$tag: $(tail -3 "$T_DIR/images.log")"
}

# The containers of this instance: "NAME STATE" lines. `ps` may fail while another
# container is being removed (the engine lists it, then cannot read it): it is asked
# again, and a listing that still fails fails the caller, never reads as "no container".
ct_list() {
    local out i
    for i in 1 2 3 4 5; do
        out=$("$ENGINE" ps -a --filter "label=baton.instance=$CT_NAME" --format json 2>>"$T_DIR/ps.err") &&
            jq -r '.[] | "\(.Names[0]) \(.State)"' <<<"$out" && return 0
        sleep 0.5
    done
    log "'$ENGINE ps' failed 5 times: $(tail -1 "$T_DIR/ps.err")"
    return 1
}
ct_running() {
    local l
    l=$(ct_list) && grep -qx "$1 running" <<<"$l"
}
ct_absent() {
    local l
    l=$(ct_list) && ! grep -q "^$1 " <<<"$l"
}

# A replaced generation's container exits by itself (or, running with --ignore-term, is
# killed at the drain timeout) and is removed.
ct_check_gone() {
    local gen=$1
    wait_for 120 ct_absent "$CT_NAME-g$gen" ||
        fail "container $CT_NAME-g$gen is still there: $(ct_list | tr '\n' ' ')"
    if [ -n "${CT_IGNORES_TERM[$gen]:-}" ]; then
        grep -qE "generation $gen: drain timeout; killed 1 workers" "$T_DIR/master.log" ||
            fail "generation $gen was not killed at the drain timeout"
        return 0
    fi
    # the app's lines come through its engine client, which may relay them after the
    # container is gone
    wait_for 60 grep -qE "^httpapp\[1\] v$gen draining" "$T_DIR/master.log" ||
        fail "the stop signal did not reach v$gen inside its container (as its pid 1)"
    # the engine may remove the container a moment before its client (the worker) exits
    wait_for 60 grep -qE "generation $gen: worker [0-9]+ exited with status 0" "$T_DIR/master.log" ||
        fail "generation $gen's container did not exit by itself: $(grep "generation $gen:" "$T_DIR/master.log" | tail -3)"
    ! grep -qE "generation $gen: drain timeout; killed" "$T_DIR/master.log" ||
        fail "generation $gen was killed at the drain timeout"
}

ct_master() {
    local tag=$1
    master_start_proxy --name "$CT_NAME" --image "$CT_IMAGE:$tag" --container-port 80 \
        "${CT_OPTS[@]}" -- "${CT_RUN_ARGS[@]}"
}

step_master() {
    CT_OPTS=("$@")
    case " $* " in *" --ready "*) ;; *) CT_OPTS+=(--ready http:/health) ;; esac
    case " $* " in *" --ready-timeout "*) ;; *) CT_OPTS+=(--ready-timeout 120s) ;; esac
    ct_image v1
    ct_master v1
    CT_GEN=1 CT_SERVING=v1
    [ "$(version_now)" = v1 ] || fail "v1 does not serve"
    ct_running "$CT_NAME-g1" || fail "container $CT_NAME-g1 does not run: $(ct_list | tr '\n' ' ')"
    status_holds '.mode == "proxy" and (.generations[0].command|index("--container-port")|not)' ||
        fail "status: $(master_ctl status --json)"
}

step_load() {
    [ -z "$CT_LOAD" ] || fail "$(case_where): a load is already running"
    CT_NLOADS=$((CT_NLOADS + 1))
    CT_LOAD=load$CT_NLOADS CT_SWITCHES=()
    load_start_kind "$CT_LOAD" "$URL" "$@"
}

ct_reached_serving() { [ -z "$CT_LOAD" ] || load_wait_version "$CT_LOAD" "$CT_SERVING"; }

step_upgrade() {
    local v=v$((CT_GEN + 1)) old=$CT_GEN out
    ct_image "$v" "$@"
    case " $* " in *" --ignore-term "*) CT_IGNORES_TERM[$((CT_GEN + 1))]=1 ;; esac
    ct_reached_serving
    out=$(master_ctl upgrade --json --image "$CT_IMAGE:$v" 2>&1) || fail "upgrade to $v failed: $out"
    CT_GEN=$((CT_GEN + 1))
    [ "$(jq -r .generation <<<"$out")" = "$CT_GEN" ] || fail "upgrade to $v: $out"
    [ -z "$CT_LOAD" ] || CT_SWITCHES+=("$CT_SERVING $(jq -r .switched_unix_ms <<<"$out")")
    CT_SERVING=$v
    [ "$(version_now)" = "$v" ] || fail "$v does not serve after the switch"
    ct_running "$CT_NAME-g$CT_GEN" || fail "container $CT_NAME-g$CT_GEN does not run"
    ct_check_gone "$old"
}

step_upgrades() { case_repeat "${1:?count}" step_upgrade; }

step_upgrade_fails() {
    local v=v$((CT_GEN + 1)) rc
    case_followed_by reason
    ct_image "$v" "$@"
    CT_FAILED_OUT=$(master_ctl upgrade --image "$CT_IMAGE:$v" 2>&1)
    rc=$?
    CT_GEN=$((CT_GEN + 1))
    log "upgrade to $v: exit $rc: $CT_FAILED_OUT"
    [ $rc -eq 1 ] || fail "upgrade to $v exited $rc, expected 1"
    [ "$(version_now)" = "$CT_SERVING" ] || fail "$CT_SERVING does not serve after the rollback of $v"
    wait_for 120 ct_absent "$CT_NAME-g$CT_GEN" ||
        fail "the failed container $CT_NAME-g$CT_GEN is still there: $(ct_list | tr '\n' ' ')"
}

step_reason() {
    case_follows upgrade-fails
    grep -qE -- "$1" <<<"$CT_FAILED_OUT" || fail "unexpected message: $CT_FAILED_OUT"
}

step_kill_master() {
    CT_OLD_PROXY=$(proxy_pid)
    kill -KILL "$MASTER"
    wait "$MASTER" 2>/dev/null
    MASTER=
    ct_running "$CT_NAME-g$CT_GEN" || fail "the container died with the master"
    [ -z "$CT_LOAD" ] || load_wait_more "$CT_LOAD" 50
    [ "$(version_now)" = "$CT_SERVING" ] || fail "$CT_SERVING does not serve without its master"
}

step_master_again() {
    local v=v$((CT_GEN + 1)) old=$CT_GEN
    ct_image "$v"
    ct_master "$v"
    wait_for 120 version_is "$v" || fail "$v does not serve after the new master started"
    CT_GEN=$((CT_GEN + 1)) CT_SERVING=$v
    grep -qE "container '$CT_NAME-g$old' of an earlier master: draining it" "$T_DIR/master.log" ||
        fail "the new master did not find container $CT_NAME-g$old: $(grep -i container "$T_DIR/master.log" | tail -5)"
    wait_for 120 ct_absent "$CT_NAME-g$old" ||
        fail "container $CT_NAME-g$old of the killed master is still there: $(ct_list | tr '\n' ' ')"
    wait_for 120 bash -c "! kill -0 $CT_OLD_PROXY" || fail "the old proxy worker $CT_OLD_PROXY still runs"
    CT_OLD_PROXY=
    ct_running "$CT_NAME-g$CT_GEN" || fail "container $CT_NAME-g$CT_GEN does not run"
}

step_serves() { [ "$(version_now)" = "$CT_SERVING" ] || fail "$CT_SERVING does not serve"; }
step_status() { status_holds "$1" || fail "status does not satisfy $1: $(master_ctl status --json)"; }

step_load_end() {
    local s f v switched sent
    [ -n "$CT_LOAD" ] || fail "$(case_where): no load is running"
    ct_reached_serving
    load_stop "$CT_LOAD"
    load_check "$CT_LOAD"
    f=$T_DIR/$CT_LOAD.json
    for s in "${CT_SWITCHES[@]}"; do
        read -r v switched <<<"$s"
        sent=$(jq -r --arg v "$v" '.versions[$v].last_sent_ms + .start_unix_ms' "$f")
        [ "${sent%.*}" -le "$((switched + CONNECT_OBSERVE_SLACK_MS))" ] ||
            fail "$CT_LOAD: $v answered a request sent at ${sent%.*}, after the switch at $switched"
    done
    log "$CT_LOAD: ${#CT_SWITCHES[@]} switches checked"
    CT_LOAD=
}

step_stop() {
    [ -z "$CT_LOAD" ] || step_load_end
    master_stop
    MASTER=
    CT_STOPPED=1
    local left
    left=$(ct_list) || fail "cannot list the containers after stop"
    [ -z "$left" ] || fail "containers left after stop: $(tr '\n' ' ' <<<"$left")"
}

case_read "$1"
case_run
[ -z "$CT_LOAD" ] || step_load_end
