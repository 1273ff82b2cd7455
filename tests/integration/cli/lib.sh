# Helpers of the cli tests: the release baton (its man pages and completion beside it
# in build/rel, written by `make all` from the verbs' option tables).
. "$(dirname "$0")/../../lib/common.sh"
REL=${BATON_REL:-$BATON}
REL_DIR=$(cd "$(dirname "$REL")" && pwd)
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
MAN_DIR=$REL_DIR/man
COMPLETION=$REL_DIR/completion/baton
[ -f "$MAN_DIR/baton.1" ] && [ -f "$COMPLETION" ] || fail "no man pages or completion in $REL_DIR: run 'make all'"

# The words after `baton` of a page: "backend drain" for baton-backend-drain.1.
page_words() {
    local name
    name=$(basename "$1" .1)
    name=${name#baton}
    name=${name#-}
    echo "${name//-/ }"
}

# The long options a verb's --help lists (--config and --help included), one a line.
help_options() { # help_options WORD...
    local text
    text=$("$REL" "$@" --help) || return 1
    grep -oE '^  --[a-z0-9-]+' <<<"$text" | sed 's/^ *//' | sort -u || true
}
