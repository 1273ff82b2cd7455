#!/usr/bin/env bash
# Bash completion comes from the verbs' option tables: `baton run --dr<TAB>` completes
# to --drain-timeout; verbs, sub-commands (after options and their values), the words
# of enum options; every verb and sub-command offers exactly the options its --help
# lists, and never a hidden compatibility spelling.
. "$(dirname "$0")/lib.sh"

complete_words() { # complete_words WORD... (the last one is completed): prints COMPREPLY
    bash --norc --noprofile -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _baton; [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@" | sort
}
expect() { # expect "WANTED WORDS" WORD...
    local want=$1; shift
    local got
    got=$(complete_words "$@" | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$want" ] || fail "'$*<TAB>' completes to '$got', expected '$want'"
}

[ "$(bash --norc -c '. "$1"; complete -p baton' _ "$COMPLETION")" = "complete -o bashdefault -o default -F _baton baton" ] ||
    fail "no 'complete' line for baton"
expect "--drain-timeout" baton run --dr
expect "handoff proxy reuseport" baton run --mode ""
expect "debug error info warn" baton proxy --log-level ""
expect "" baton run --name ""
expect "drain" baton backend d
expect "drain" baton backend --name drain d
expect "--timeout" baton backend drain --t
expect "--drain-timeout" baton switch blue --d
expect "" baton run --listen :8080 -- ap
expect "expand" baton migrate --db sqlite:x.db exp
expect "--batch-sleep" baton migrate expand --batch-sl
expect "--rate" baton lazy sweep --ra
expect "--raw" baton lazy put --ra
expect "status sweep" baton lazy s
expect "--timeout" baton load URL --time
verbs=$("$REL" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
expect "$verbs" baton ""

n=0
for page in "$MAN_DIR"/baton-*.1; do
    read -ra words <<<"$(page_words "$page")"
    want=$(help_options "${words[@]}" | tr '\n' ' ')
    got=$(complete_words baton "${words[@]}" - | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "baton ${words[*]} -<TAB>: '$got', --help lists '$want'"
    n=$((n + 1))
done
log "$n verbs and sub-commands complete their options"
