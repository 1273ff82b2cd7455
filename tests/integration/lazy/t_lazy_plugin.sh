#!/usr/bin/env bash
# Custom steps: a chain naming a C callback is refused (with its line) until a plugin
# registers it; with the plugin, get and sweep run the callback, and a document the
# callback refuses is reported and left unchanged.
. "$(dirname "$0")/lib.sh"
cc -std=c17 -Wall -Werror -shared -fPIC -I"$LZ_REPO/include" $(pkg-config --cflags jansson) \
    -o "$T_DIR/plugin.so" "$LZ_HERE/plugin_email.c" 2>"$T_DIR/cc.log" || fail "plugin build: $(cat "$T_DIR/cc.log")"
C=$LZ_HERE/chain_custom.json
out=$("$BATON" lazy check "$C" 2>&1); rc=$?
[ $rc = 1 ] && [ "$out" = "baton lazy: $C:4: custom step 'lower_email' has no registered callback" ] ||
    fail "check without plugin: rc $rc: $out"
"$BATON" lazy check --plugin "$T_DIR/plugin.so" "$C" >/dev/null 2>>"$T_DIR/baton.log" || fail "check with plugin"
out=$("$BATON" lazy check --plugin "$T_DIR/nope.so" "$C" 2>&1); rc=$?
[ $rc = 1 ] && [[ "$out" == "baton lazy: cannot load plugin '$T_DIR/nope.so': "* ]] || fail "missing plugin: $out"

S="sqlite:$T_DIR/db.sqlite#people"
"$BATON" lazy put --store "$S" p1 '{"_version":1,"email":"Ann@Example.ORG"}' 2>>"$T_DIR/baton.log"
"$BATON" lazy put --store "$S" p2 '{"_version":1,"email":"BOB@X.NET"}' 2>>"$T_DIR/baton.log"
"$BATON" lazy put --store "$S" p3 '{"_version":1,"email":42}' 2>>"$T_DIR/baton.log"
got=$("$BATON" lazy get --plugin "$T_DIR/plugin.so" --store "$S" --chain "$C" p1 2>>"$T_DIR/baton.log")
[ "$got" = '{"_version":2,"email":"ann@example.org","verified":false}' ] || fail "get p1: $got"
"$BATON" lazy sweep --plugin "$T_DIR/plugin.so" --store "$S" --chain "$C" >"$T_DIR/sweep.out" 2>"$T_DIR/sweep.err"
rc=$?
[ $rc = 1 ] || fail "sweep with a refused document must exit 1 (got $rc)"
grep -qx "baton lazy: skipped document 'p3': step 1 of version 2 ($C:4): custom step 'lower_email': 'email' is not a string" "$T_DIR/sweep.err" ||
    fail "refusal not reported: $(cat "$T_DIR/sweep.err")"
[ "$("$BATON" lazy dump --store "$S")" = "$(printf 'p1\t{"_version":2,"email":"ann@example.org","verified":false}\np2\t{"_version":2,"email":"bob@x.net","verified":false}\np3\t{"_version":1,"email":42}')" ] ||
    fail "documents after the sweep: $("$BATON" lazy dump --store "$S")"
