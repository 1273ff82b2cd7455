#!/usr/bin/env bash
# `make install` puts the header, the shared and static libraries and baton-lazy.pc in a
# prefix; the example program builds with pkg-config (shared; and with the static archive
# plus the shared dependencies) and upgrades
# and updates documents of a SQLite store through the installed library.
. "$(dirname "$0")/lib.sh"

P=$T_DIR/prefix
make -s -C "$LZ_REPO" install PREFIX="$P" >"$T_DIR/install.out" 2>&1 || fail "make install: $(tail -5 "$T_DIR/install.out")"
for f in include/baton/lazy.h lib/libbaton-lazy.so.1 lib/libbaton-lazy.so lib/libbaton-lazy.a lib/pkgconfig/baton-lazy.pc; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
export PKG_CONFIG_PATH=$P/lib/pkgconfig
cc -std=c17 -Wall -Werror -o "$T_DIR/counter" "$LZ_REPO/examples/lazy/lazy_counter.c" \
    $(pkg-config --cflags --libs baton-lazy) -Wl,-rpath,"$P/lib" 2>"$T_DIR/cc.log" ||
    fail "build against the installed library: $(cat "$T_DIR/cc.log")"
cc -std=c17 -Wall -Werror -o "$T_DIR/counter-static" "$LZ_REPO/examples/lazy/lazy_counter.c" \
    $(pkg-config --cflags baton-lazy) "$P/lib/libbaton-lazy.a" $(pkg-config --libs jansson sqlite3 libpq hiredis) \
    2>"$T_DIR/cc-static.log" || fail "static build: $(cat "$T_DIR/cc-static.log")"
grep -q "$P/lib/libbaton-lazy.so.1" <<<"$(ldd "$T_DIR/counter")" || fail "not linked to the installed .so" # not a pipe from ldd into grep: under pipefail, ldd's SIGPIPE fails it

url="sqlite:$T_DIR/db.sqlite#users"
lz_seed 3 | "$BATON" lazy load --store "$url" >/dev/null 2>>"$T_DIR/baton.log" || fail "load"
out=$("$T_DIR/counter" "$url" "$CHAIN" 10 d00001 2>>"$T_DIR/baton.log") && [ "$out" = "d00001 10" ] ||
    fail "counter (shared): $out"
out=$("$T_DIR/counter-static" "$url" "$CHAIN" 5 d00001 2>>"$T_DIR/baton.log") && [ "$out" = "d00001 5" ] ||
    fail "counter (static): $out"
doc=$("$BATON" lazy get --store "$url" --chain "$CHAIN" d00001 2>>"$T_DIR/baton.log")
[ "$(jq -c -S . <<<"$doc")" = '{"_version":4,"counter":15,"full_name":"user 1","name":"","tmp":{"keep":1}}' ] ||
    fail "document after the example's updates: $doc"
make -s -C "$LZ_REPO" uninstall PREFIX="$P" >/dev/null 2>&1 || fail "make uninstall"
[ ! -e "$P/lib/libbaton-lazy.so.1" ] || fail "uninstall left the library"
