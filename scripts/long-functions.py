#!/usr/bin/env python3
"""Lists the C functions longer than a limit (80 lines: STYLE.md), from the first line of
the signature to the closing brace, as FILE:LINE: NAME is N lines. Exits 1 when it
finds one. Usage: scripts/long-functions.py [--max N] [DIR or FILE ...] (default src)."""
import os
import re
import sys

NAME = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def functions(path):
    """(name, first line, line count) of each function defined in the file: a body opens
    with '{' in column 0 after a signature that starts in column 0, closes with '}'."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    start = None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            j = i - 1  # back to the first line of the signature
            while j > 0 and lines[j - 1].strip() and not lines[j - 1].startswith(
                    ("}", "#", "/", " *", "*")) and not lines[j - 1].rstrip().endswith(";"):
                j -= 1
            sig = " ".join(lines[j:i])
            m = NAME.search(sig)
            if m and "=" not in sig.split("(")[0]:
                start = (m.group(1), j)
        elif line.startswith("}") and start is not None:
            yield start[0], start[1] + 1, i - start[1] + 1
            start = None


def main(argv):
    limit = 80
    if argv[:1] == ["--max"]:
        limit, argv = int(argv[1]), argv[2:]
    paths = []
    for top in argv or ["src"]:
        if os.path.isfile(top):
            paths.append(top)
        for root, _, files in os.walk(top):
            paths += [os.path.join(root, f) for f in files if f.endswith((".c", ".h"))]
    found = 0
    for path in sorted(paths):
        for name, line, n in functions(path):
            if n > limit:
                print(f"{path}:{line}: {name} is {n} lines (at most {limit})")
                found += 1
    print(f"{found} functions over {limit} lines", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
