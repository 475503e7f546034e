#!/usr/bin/env python3
"""Counts import cycles between the modules of src/ from `crate::` paths.

Two views: top-level modules (src/config/** is `config`), and files, where an
edge between a module and its own ancestor (kinds/mod.rs <-> kinds/ec2/vpc.rs,
a registry and its members) is left out. A cycle is reported as a strongly
connected component of more than one module. `--use-only` reads only
`use crate::` lines; the default also reads paths written inline.
Usage: scripts/import-cycles.py [--use-only] [src]
"""
import re, sys
from pathlib import Path

args = [a for a in sys.argv[1:] if not a.startswith("--")]
use_only = "--use-only" in sys.argv
src = Path(args[0] if args else "src")

def module_of(path):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)

files = {module_of(p): p for p in src.rglob("*.rs")}
modules = set(files)

def strip_tests(text):
    # `#[cfg(test)] mod tests { ... }` runs last in a file by convention here.
    i = text.find("#[cfg(test)]\nmod tests")
    text = text if i < 0 else text[:i]
    return re.sub(r"//.*", "", text)

def targets(text):
    """Every crate path named, expanding `use crate::{a, b::c}` groups."""
    out = []
    for m in re.finditer(r"use crate::(\{[^;]*\}|[^;]*);", text, re.S):
        out += expand(m.group(1))
    if not use_only:
        for m in re.finditer(r"(?<!use )crate::((?:\w+::)*\w+)", text):
            out.append(m.group(1).split("::"))
    return out

def expand(tree):
    tree = re.sub(r"\s+", "", tree)
    if tree.startswith("{"):
        inner, parts, depth, cur = tree[1:-1], [], 0, ""
        for c in inner:
            if c == "," and depth == 0:
                parts.append(cur); cur = ""
                continue
            depth += (c == "{") - (c == "}")
            cur += c
        parts.append(cur)
        return [p for part in parts if part for p in expand(part)]
    head, _, rest = tree.partition("::{")
    if rest:
        return [head.split("::") + p for p in expand("{" + rest)]
    return [tree.split("::")]

def resolve(path):
    path = [p for p in path if p != "self"]
    for n in range(len(path), 0, -1):
        if tuple(path[:n]) in modules:
            return tuple(path[:n])
    return None

def sccs(nodes, edges):
    index, low, stack, on, out, i = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)
    def visit(v):
        index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]

def simple_cycles(comps, edges):
    """Every elementary cycle inside the tangles, each from its smallest module."""
    out = []
    for comp in comps:
        members = set(comp)
        def walk(path):
            for w in sorted(edges.get(path[-1], ())):
                if w == path[0]:
                    out.append(list(path))
                elif w in members and w > path[0] and w not in path:
                    walk(path + [w])
        for start in comp:
            walk([start])
    return out

file_edges, top_edges = {}, {}
for mod, path in files.items():
    for t in targets(strip_tests(path.read_text())):
        to = resolve(t)
        if to is None or to == mod:
            continue
        if to[: len(mod)] != mod and mod[: len(to)] != to:
            file_edges.setdefault(mod, set()).add(to)
        if mod and to and mod[0] != to[0]:
            top_edges.setdefault(mod[0], set()).add(to[0])

name = lambda m: "::".join(m) if isinstance(m, tuple) else m
for title, nodes, edges in [
    ("top-level modules", {m[0] for m in modules if m}, top_edges),
    ("files", modules, file_edges),
]:
    comps = sccs(nodes, edges)
    loops = simple_cycles(comps, edges)
    print(f"{title}: {len(loops)} import cycle(s) in {len(comps)} tangle(s)")
    for c in loops:
        print("  " + " -> ".join(name(m) for m in c + c[:1]))
