#!/usr/bin/env python3
"""Finds circles of files inside each given folder of src/: file A -> file B when A
includes B's header or A.c calls a function that B.c alone defines (x.c and x.h are
one file). Prints each folder's files floor by floor (a file stands above all it uses) and
every circle; exits 1 when a folder has one. Usage: scripts/file-circles.py src/supervise"""
import os
import re
import sys

DEF = re.compile(r"^(?!static\b)[A-Za-z_][\w \t\*]*?\b(\w+)\(([^;]*)$")
CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\])*\"", re.S)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def graph(folder):
    names = sorted({os.path.splitext(f)[0] for f in os.listdir(folder)
                    if f.endswith((".c", ".h"))})
    defined = {}  # function -> module that defines it (non-static, in a .c file)
    for n in names:
        c = os.path.join(folder, n + ".c")
        if os.path.exists(c):
            lines = read(c).split("\n")
            for i, line in enumerate(lines):
                m = DEF.match(line)
                if m and any(l.startswith("{") for l in lines[i + 1:i + 4]):
                    defined.setdefault(m.group(1), set()).add(n)
    rel = os.path.relpath(folder, "src") if folder.startswith("src") else folder
    edges = {n: {} for n in names}
    for n in names:
        for ext in (".c", ".h"):
            path = os.path.join(folder, n + ext)
            if not os.path.exists(path):
                continue
            text = read(path)
            for inc in re.findall(r'#include\s+"([^"]+)"', text):
                d, b = os.path.split(inc)
                target = os.path.splitext(b)[0]
                if d == rel and target in edges and target != n:
                    edges[n].setdefault(target, set()).add("#include " + b)
            if ext == ".h":
                continue  # a header declares; the calls are in the .c files
            for name in set(CALL.findall(COMMENT.sub(" ", text))):
                owners = defined.get(name, set())
                if len(owners) == 1 and n not in owners:
                    edges[n].setdefault(next(iter(owners)), set()).add(name)
    return names, edges


def circles(names, edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in names:
        if v not in index:
            visit(v)
    return out


def floors(names, edges):
    level = {}

    def floor(v, seen=()):
        if v in level:
            return level[v]
        if v in seen:
            return 1
        level[v] = 1 + max([floor(w, seen + (v,)) for w in edges[v]] or [0])
        return level[v]

    for v in names:
        floor(v)
    return level


def main(folders):
    bad = 0
    for folder in folders:
        names, edges = graph(folder)
        found = circles(names, edges)
        narrows = sum(len(e) for e in edges.values())
        level = floors(names, edges)
        print(f"{folder}: {len(names)} files, {narrows} arrows, {len(found)} circles")
        for f in sorted(set(level.values()), reverse=True):
            print(f"  floor {f}: " + " ".join(sorted(n for n in names if level[n] == f)))
        for comp in found:
            bad = 1
            print("  CIRCLE: " + ", ".join(comp))
            for a in comp:
                for b in comp:
                    if b in edges[a]:
                        print(f"    {a} -> {b}: " + ", ".join(sorted(edges[a][b])[:6]))
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["src/supervise"]))
