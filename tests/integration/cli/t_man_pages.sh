#!/usr/bin/env bash
# Man pages come from the verbs' option tables: `make all` writes baton(1) and a page
# per verb and sub-command (baton-migrate-expand(1)); each renders with groff -ww and
# man without a warning and names every option its --help lists, and no other; baton(1)
# lists every verb; the sanitized baton writes the same pages; `make install` puts them
# under share/man/man1 where man finds them, `make uninstall` removes them.
. "$(dirname "$0")/lib.sh"

verbs=$("$REL" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[ "$(wc -l <<<"$verbs")" -ge 12 ] || fail "baton --help lists too few verbs: $verbs"
for v in $verbs; do
    [ -f "$MAN_DIR/baton-$v.1" ] || fail "no page for verb '$v'"
done
n=0
for page in "$MAN_DIR"/*.1; do
    name=$(basename "$page" .1)
    read -ra words <<<"$(page_words "$page")"
    warn=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warn" ] || fail "$name: groff warns: $warn"
    text=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$page" 2>"$T_DIR/man.err") ||
        fail "$name: man -l failed"
    [ ! -s "$T_DIR/man.err" ] || fail "$name: man warns: $(cat "$T_DIR/man.err")"
    grep -q "^NAME" <<<"$text" && grep -q "^SYNOPSIS" <<<"$text" || fail "$name: no NAME or SYNOPSIS"
    grep -qE "^ +$name +- +[a-z]" <<<"$text" || fail "$name: NAME line: $(grep -A1 '^NAME' <<<"$text")"
    if [ ${#words[@]} -gt 0 ]; then
        want=$(help_options "${words[@]}") || fail "$name: --help failed"
        got=$(grep -oE '^ {7}--[a-z0-9-]+' <<<"$text" | sed 's/^ *//' | sort -u)
        [ "$got" = "$want" ] || fail "$name: options of the page differ from --help: $(diff <(echo "$want") <(echo "$got") | tr '\n' ' ')"
    fi
    n=$((n + 1))
done
log "$n pages render cleanly and list the options of their verbs"
for v in $verbs; do
    grep -qE "^ +$v( |$)" <<<"$(MANWIDTH=100 man -l "$MAN_DIR/baton.1")" || fail "baton(1) does not list '$v'"
done
# The sanitized binary writes the same pages for its own verbs (the dates pinned).
mkdir -p "$T_DIR/asan" "$T_DIR/rel"
SOURCE_DATE_EPOCH=0 "$BATON" --man-dir "$T_DIR/asan" 2>"$T_DIR/asan.log" || fail "--man-dir: $(cat "$T_DIR/asan.log")"
SOURCE_DATE_EPOCH=0 "$REL" --man-dir "$T_DIR/rel" || fail "release --man-dir"
diff -r "$T_DIR/asan" "$T_DIR/rel" >/dev/null || fail "asan and release pages differ"
grep -q '^.TH BATON-RUN 1 "1970-01-01" "baton ' "$T_DIR/rel/baton-run.1" || fail "date of the page: $(head -1 "$T_DIR/rel/baton-run.1")"
SOURCE_DATE_EPOCH=0 "$BATON" --man backend drain | cmp -s - "$T_DIR/rel/baton-backend-drain.1" ||
    fail "baton --man backend drain differs from baton-backend-drain.1"
"$BATON" --man bogus >/dev/null 2>&1 && fail "--man of an unknown verb succeeded"

# make install / uninstall
make -s -C "$REPO" install DESTDIR="$T_DIR/root" PREFIX=/usr >"$T_DIR/install.log" 2>&1 ||
    fail "make install: $(tail -5 "$T_DIR/install.log")"
for page in "$MAN_DIR"/*.1; do
    cmp -s "$page" "$T_DIR/root/usr/share/man/man1/$(basename "$page")" || fail "not installed: $(basename "$page")"
done
MANWIDTH=100 man -M "$T_DIR/root/usr/share/man" baton-switch 2>/dev/null | grep -- '--drain-timeout' >/dev/null ||
    fail "man -M finds no installed baton-switch page"
cmp -s "$COMPLETION" "$T_DIR/root/usr/share/bash-completion/completions/baton" || fail "completion not installed"
make -s -C "$REPO" uninstall DESTDIR="$T_DIR/root" PREFIX=/usr >/dev/null 2>&1 || fail "make uninstall"
left=$(find "$T_DIR/root" -name 'baton*' -type f)
[ -z "$left" ] || fail "uninstall left: $left"
