#!/usr/bin/env bash
# libbaton-lazy.so exports exactly the functions that include/baton/lazy.h declares: an
# internal lazy_* function (or any other symbol) exported, or a public one missing, fails.
# The check is run once on a library linked to export every lazy_* symbol, which it must
# refuse, so that it is known to catch an extra export.
. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/lib.sh"
SO=$LZ_REPO/build/rel/libbaton-lazy.so
MAP=$LZ_REPO/src/lazy/exports.map
[ -f "$SO" ] || fail "$SO not built (make all)"

# the functions the header declares (comments stripped, nothing included)
gcc -fpreprocessed -dD -E -P "$LZ_REPO/include/baton/lazy.h" 2>"$T_DIR/cpp.log" |
    grep -oE '\blazy_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u >"$T_DIR/header" ||
    fail "cannot read the header: $(cat "$T_DIR/cpp.log")"
[ "$(wc -l <"$T_DIR/header")" -ge 15 ] || fail "too few functions found in the header: $(cat "$T_DIR/header")"

# exports LIB: the defined dynamic symbols, but the version node's own name
exports() {
    nm -D --defined-only --format=posix "$1" | awk '{ print $1 }' | sed 's/@.*//' |
        grep -vxE "$(grep -oE '^[A-Z][A-Z0-9_]* *\{' "$MAP" | tr -d ' {' | paste -sd'|')" | sort -u
}
# same LIB: fails with the extra and the missing symbols
same() {
    exports "$1" >"$T_DIR/exports"
    diff "$T_DIR/header" "$T_DIR/exports" >"$T_DIR/exports.diff"
}

same "$SO" || fail "libbaton-lazy.so exports differ from include/baton/lazy.h ('>' extra, '<' missing):
$(cat "$T_DIR/exports.diff")"
log "$(wc -l <"$T_DIR/exports") symbols exported, the header's functions"

# the check itself: a library exporting lazy_* (as the library once did) is refused
printf 'BATON_LAZY_1 { global: lazy_*; local: *; };\n' >"$T_DIR/wide.map"
cc -shared -Wl,--version-script="$T_DIR/wide.map" -o "$T_DIR/wide.so" -Wl,--whole-archive \
    "$LZ_REPO/build/rel/libbaton-lazy.a" -Wl,--no-whole-archive \
    $(pkg-config --libs jansson sqlite3 libpq hiredis) 2>"$T_DIR/cc.log" ||
    fail "cannot link the wide library: $(cat "$T_DIR/cc.log")"
same "$T_DIR/wide.so" && fail "the check let a library exporting internal functions pass"
grep -q '^> lazy_read_modify_write$' "$T_DIR/exports.diff" || fail "the check did not name lazy_read_modify_write: $(cat "$T_DIR/exports.diff")"
log "a library exporting internal functions is refused ($(grep -c '^>' "$T_DIR/exports.diff") extra)"
