#!/usr/bin/env bash
# `baton load --plot`: the timeline of a load across an upgrade is drawn as a valid SVG
# of the asked size, with the upgrade's events from the master's JSON log (the app's
# own text lines in it skipped and counted) and no failure marked; `baton plot` draws the same report as a PNG of its size; a load that
# sees the service stop has its failures marked (in their own colour, used for nothing
# else); bad inputs are refused with the reason.
. "$(dirname "$0")/../../lib/master.sh"
. "$(dirname "$0")/../../lib/load.sh"
FAILURE_RGB='rgb(84%,11%,11%)' # src/load/plot.c's failure colour, as cairo writes it
app=$APP
master_start_proxy --log-format json -- "$app" --version v1
load_start up "$URL" --connections 4 --plot "$T_DIR/up.svg" --events "$T_DIR/master.log"
load_wait_more up 300
master_ctl upgrade -- "$app" --version v2 >/dev/null || fail "upgrade to v2 failed"
load_wait_version up v2
wait_for 30 status_holds '.generations | length == 1' || fail "generation 1 did not exit"
load_wait_more up 300
load_stop up
load_check up

# svg_check FILE WIDTH HEIGHT: FILE parses as XML, is an <svg> of that size (points),
# and prints how often the failure colour appears in it.
svg_check() {
    python3 - "$@" "$FAILURE_RGB" <<'PY'
import sys, xml.etree.ElementTree as ET
path, w, h, colour = sys.argv[1:5]
root = ET.parse(path).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
assert (root.get("width"), root.get("height")) == (w + "pt", h + "pt"), root.attrib
print(open(path).read().count(colour))
PY
}
# png_check FILE WIDTH HEIGHT: FILE is a PNG of that size (8-bit RGB, as cairo writes
# it); prints how many of its pixels have the failure colour (215, 28, 28: plot.c's
# 0.84, 0.11, 0.11 in 8 bits).
png_check() {
    python3 - "$@" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
at, idat, ihdr = 8, b"", None
while at < len(data):
    n, kind = struct.unpack(">I4s", data[at:at + 8])
    body = data[at + 8:at + 8 + n]
    assert zlib.crc32(data[at + 4:at + 8 + n]) == struct.unpack(">I", data[at + 8 + n:at + 12 + n])[0], kind
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    at += 12 + n
assert ihdr and ihdr[:2] == (w, h), ihdr
assert ihdr[2:5] == (8, 2, 0) and ihdr[6] == 0, ihdr  # 8-bit RGB, not interlaced
raw, stride, prev, red = zlib.decompress(idat), 3 * w, bytearray(3 * w), 0
for y in range(h):
    f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):  # undo the row's filter (PNG spec, 9.2)
        a, b = (row[i - 3] if i >= 3 else 0), prev[i]
        c = prev[i - 3] if i >= 3 else 0
        if f == 1: row[i] = (row[i] + a) & 255
        elif f == 2: row[i] = (row[i] + b) & 255
        elif f == 3: row[i] = (row[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    red += sum(1 for x in range(0, stride, 3) if row[x:x + 3] == b"\xd7\x1c\x1c")
    prev = row
print(red)
PY
}

marks=$(svg_check "$T_DIR/up.svg" 960 540) || fail "up.svg is not a 960x540 SVG"
[ "$marks" -eq 0 ] || fail "a clean run's plot marks failures ($marks)"
line=$(grep 'up.svg: ' "$T_DIR/up.live") || fail "baton load --plot said nothing"
[[ $line =~ ": 960x540 SVG, "([0-9]+)" buckets of 100 ms, 0 with failures, "([0-9]+)" events (".*" lines of the log not JSON, skipped)"$ ]] ||
    fail "unexpected plot line: $line"
[ "${BASH_REMATCH[1]}" -eq "$(jq '.timeline | length' "$T_DIR/up.json")" ] || fail "buckets: $line"
# In the load's time: the upgrade request, the switch to 2 and the exit of 1.
[ "${BASH_REMATCH[2]}" -ge 3 ] || fail "the upgrade's events were not drawn: $line"

"$BATON" plot "$T_DIR/up.json" --out "$T_DIR/up.png" --events "$T_DIR/master.log" \
    --width 800 --height 400 >"$T_DIR/plot.out" 2>"$T_DIR/plot.log" || fail "baton plot failed"
red=$(png_check "$T_DIR/up.png" 800 400) || fail "up.png is not an 800x400 PNG"
[ "$red" -eq 0 ] || fail "a clean run's PNG has $red pixels of the failure colour"

# The service stops during a load: the requests after it fail and are marked.
load_start down "$URL" --connections 2 --plot "$T_DIR/down.svg"
load_wait_more down 200
master_stop
wait_for 60 grep -q '"failures":[1-9]' "$T_DIR/down.live" || fail "no request failed after the stop"
touch "$T_DIR/down.stop"
wait "${LOAD_PID[down]}" && fail "a load with failed requests exited 0"
[ "$(jget "$T_DIR/down.json" .failed)" -gt 0 ] || fail "no failure in the report"
marks=$(svg_check "$T_DIR/down.svg" 960 540) || fail "down.svg is not a 960x540 SVG"
[ "$marks" -gt 0 ] || fail "the failures are not marked in down.svg"
grep -qE 'down.svg: 960x540 SVG, [0-9]+ buckets of 100 ms, [1-9][0-9]* with failures' "$T_DIR/down.live" ||
    fail "the plot line does not count failures: $(grep -v '^{' "$T_DIR/down.live")"
"$BATON" plot "$T_DIR/down.json" --out "$T_DIR/down.png" >>"$T_DIR/plot.out" 2>>"$T_DIR/plot.log" ||
    fail "baton plot of the failed run failed"
red=$(png_check "$T_DIR/down.png" 960 540) || fail "down.png is not a 960x540 PNG"
[ "$red" -gt 0 ] || fail "the failures are not marked in down.png"

# Refused with the reason: a broken JSON line among the events, an unknown format, a
# report that is not one.
echo '{"time":"2026-12-02T01:36:46.999Z","event":' >>"$T_DIR/master.log"
out=$("$BATON" plot "$T_DIR/up.json" --out "$T_DIR/x.svg" --events "$T_DIR/master.log" 2>&1) &&
    fail "a broken line among the events was accepted"
grep -qxE "baton plot: events '.*/master.log' line [0-9]+: not a JSON object with strings 'time' and 'event'" <<<"$out" ||
    fail "unexpected message: $out"
out=$("$BATON" load "$URL" --requests 1 --plot "$T_DIR/x.jpg" 2>&1) && fail "--plot x.jpg was accepted"
[ "$out" = "baton load: --plot '$T_DIR/x.jpg': name it FILE.svg or FILE.png" ] || fail "unexpected: $out"
out=$(echo '{"requests":1}' | "$BATON" plot - --out "$T_DIR/x.svg" 2>&1) && fail "a bad report was drawn"
[ "$out" = "baton plot: report '-': not a report of 'baton load --json': it needs 'start_unix_ms', 'requests', 'failed' and 'timeline'" ] ||
    fail "unexpected: $out"
[ ! -e "$T_DIR/x.svg" ] || fail "a refused plot left a file"
