# Scenarios as data: reads a case file for an area's driver (sources common.sh).
#
# A case file is a header comment that names the behaviour (or the bug) the case
# guards, then one step per line: a step name and its arguments, in the order the
# driver runs them. Blank lines and lines starting with '#' are ignored; a '#' later in
# a line is part of it. The driver defines one function step_NAME per step (dashes
# become underscores), so an unknown or misspelled step is refused before anything
# runs, with the file and line. A step gets the rest of its line split into words (no
# quoting, no globbing: a quote character there is refused as ambiguous); the steps the
# driver names in CASE_TEXT_STEPS get it whole instead, as one argument (a regular
# expression, a jq filter).
#
#   # 20 upgrades under keep-alive load: 0 failed requests, ...
#   master --workers 2 --drain-timeout 5
#   load keepalive 16
#   upgrades 20
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CASE_FILE=
CASE_STEP=() CASE_ARGS=() CASE_LINE=()
CASE_AT=-1         # index of the step running now
CASE_TEXT_STEPS="" # steps that take the rest of the line whole

# case_read FILE: parses FILE into CASE_STEP/CASE_ARGS/CASE_LINE; fails on a file
# without a header comment, a step with no step_ function, or a quote character in
# the words of a step.
case_read() {
    CASE_FILE=$1
    [ -r "$CASE_FILE" ] || fail "cannot read case '$CASE_FILE'"
    local n=0 line step args header=0
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        line=${line#"${line%%[![:space:]]*}"}
        line=${line%"${line##*[![:space:]]}"}
        [ -z "$line" ] && continue
        if [ "${line:0:1}" = "#" ]; then
            [ ${#CASE_STEP[@]} -eq 0 ] && header=1
            continue
        fi
        [ $header = 1 ] || fail "$CASE_FILE:$n: a case starts with a comment naming what it guards"
        step=${line%%[[:space:]]*}
        args=${line#"$step"}
        args=${args#"${args%%[![:space:]]*}"}
        declare -F "step_${step//-/_}" >/dev/null ||
            fail "$CASE_FILE:$n: unknown step '$step' (known: $(case_steps))"
        case " $CASE_TEXT_STEPS " in
        *" $step "*) ;;
        *) case "$args" in *[\"\'\`]*) fail "$CASE_FILE:$n: '$step' takes words; quotes are ambiguous: $line" ;; esac ;;
        esac
        CASE_STEP+=("$step") CASE_ARGS+=("$args") CASE_LINE+=("$n")
    done <"$CASE_FILE"
    [ ${#CASE_STEP[@]} -gt 0 ] || fail "$CASE_FILE: no steps"
}

# case_steps: the step names the driver defines.
case_steps() { declare -F | sed -n 's/^declare -f step_//p' | tr _ - | tr '\n' ' '; }

# case_next: the name of the step after the one running ("" at the end).
case_next() { echo "${CASE_STEP[$((CASE_AT + 1))]:-}"; }

# case_followed_by STEP / case_follows STEP: fails unless the step after (before) the one
# running is STEP (a step whose outcome the next one checks).
case_followed_by() { [ "$(case_next)" = "$1" ] || fail "$(case_where): must be followed by $1"; }
case_follows() { [ "${CASE_STEP[$((CASE_AT - 1))]:-}" = "$1" ] || fail "$(case_where): follows no $1"; }

# case_repeat N FUNCTION: runs FUNCTION N times (a step "upgrades N" of the driver's
# step_upgrade).
case_repeat() {
    local i
    for ((i = 0; i < $1; i++)); do "$2"; done
}

# case_where: "FILE:LINE: STEP ARGS" of the step running, for messages.
case_where() {
    local args=${CASE_ARGS[$CASE_AT]}
    echo "$(basename "$CASE_FILE"):${CASE_LINE[$CASE_AT]}: ${CASE_STEP[$CASE_AT]}${args:+ $args}"
}

# case_run: runs every step in order; a step fails the test with fail().
case_run() {
    for CASE_AT in "${!CASE_STEP[@]}"; do
        local step=${CASE_STEP[$CASE_AT]} words=()
        log "step $(case_where)"
        case " $CASE_TEXT_STEPS " in
        *" $step "*) "step_${step//-/_}" "${CASE_ARGS[$CASE_AT]}" ;;
        *)
            read -ra words <<<"${CASE_ARGS[$CASE_AT]}"
            "step_${step//-/_}" "${words[@]}"
            ;;
        esac
    done
    CASE_AT=${#CASE_STEP[@]}
}

# case_expect_caught DRIVER NAME MESSAGE-REGEX < CASE: for an area's t_driver_catches.sh:
# DRIVER, given the case on stdin, fails it (exit 1) with a line matching MESSAGE-REGEX
# (grep -E), so that the area's case files cannot pass by accident.
case_expect_caught() {
    local driver=$1 name=$2 want=$3 rc kept
    cat >"$T_DIR/$name.case"
    bash "$driver" "$T_DIR/$name.case" >"$T_DIR/$name.out" 2>&1
    rc=$?
    kept=$(sed -n 's/.*logs kept in \(\/tmp\/baton-test\.[^ ]*\)$/\1/p' "$T_DIR/$name.out")
    [ -n "$kept" ] && rm -rf "$kept"
    [ $rc -eq 1 ] || fail "$name: the driver exited $rc, expected 1: $(tail -5 "$T_DIR/$name.out")"
    grep -qE -- "$want" "$T_DIR/$name.out" || fail "$name: not caught as expected: $(grep -m3 FAIL "$T_DIR/$name.out")"
    log "$name: caught: $(grep -m1 -E -- "$want" "$T_DIR/$name.out")"
}
