# Real servers that bind their port themselves with SO_REUSEPORT, under `baton run
# --mode reuseport` (sourced by the t_server_*.sh files; not a test itself): the
# scenario of tests/integration/servers/driver.sh (5 upgrades under load, 0 failed,
# a broken release rolled back, each old generation exits by itself), with the
# recipes of reuseport/recipes/ and the apps of examples/reuseport/ copied into $T_DIR.
. "$(dirname "${BASH_SOURCE[0]}")/../servers/driver.sh"
RP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RP_APP=$T_DIR/rpapp
cp -r "$RP_DIR/../../../examples/reuseport" "$RP_APP"

# load_recipe NAME: sources reuseport/recipes/NAME.sh and checks its programs.
load_recipe() {
    local f=$RP_DIR/recipes/$1.sh b
    [ -f "$f" ] || fail "no recipe '$1' ($f)"
    . "$f"
    for b in "${NEEDS[@]}"; do
        command -v "$b" >/dev/null ||
            fail "'$b' is not installed: scripts/deps.sh installs it (scripts/packages.txt)"
    done
}
