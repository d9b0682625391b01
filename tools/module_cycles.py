#!/usr/bin/env python3
"""Finds cycles between syncdeck's modules: `python3 tools/module_cycles.py`.

For every module with child modules (the crate root, `tui`, `connectors::dhis2`…)
it builds a graph of its children, with an edge a -> b when code in `a` (or
below it) names `b` (or something below it) by a `crate::` or `super::` path,
and prints every strongly connected component of more than one child. Test
code is left out: `*_tests.rs` files and everything from `#[cfg(test)]` to the
end of a file (where this crate keeps its test modules). Exit status 1 when a
cycle is found, so CI or a hook can run it.

Paths are read from `use` trees (braces expanded) and from inline paths, by
regular expressions over the source: a `crate::x` inside a string or comment
counts too, which errs on the side of reporting.
"""

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    """`src/tui/msg.rs` -> ("tui", "msg"); `src/tui/update/mod.rs` -> ("tui", "update")."""
    rel = os.path.relpath(path, ROOT)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def strip_tests(text):
    cut = re.search(r"^#\[cfg\(test\)\]", text, re.M)
    return text[: cut.start()] if cut else text


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", text)


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        return [tree.split(" as ")[0].strip()]
    prefix, body = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, current = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    parts.append(current)
    out = []
    for part in parts:
        if part.strip():
            out.extend(prefix + p for p in expand(part))
    return out


def referenced(module, text):
    """Absolute module paths (tuples) that `module`'s text names."""
    paths = []
    for tree in re.findall(r"\buse\s+([^;]+);", text):
        paths.extend(expand(re.sub(r"\s+", " ", tree)))
    paths.extend(re.findall(r"\b(?:crate|super)(?:::\w+)+", text))
    out = []
    for p in paths:
        segs = [s for s in p.replace(" ", "").split("::") if s]
        if not segs:
            continue
        if segs[0] == "crate":
            out.append(tuple(segs[1:]))
        elif segs[0] == "super":
            base = list(module)
            while segs and segs[0] == "super":
                segs.pop(0)
                base = base[:-1]
            out.append(tuple(base + segs))
    return out


def main():
    edges = defaultdict(set)  # (parent, child_a) -> {child_b}
    for dirpath, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs") or name.endswith("_tests.rs") or name == "tests.rs":
                continue
            path = os.path.join(dirpath, name)
            if "sim/schemas" in path:
                continue
            module = module_of(path)
            with open(path, encoding="utf-8") as f:
                text = strip_comments(strip_tests(f.read()))
            for target in referenced(module, text):
                # The deepest common parent of the two, and the children below it.
                common = 0
                while common < min(len(module), len(target)) and module[common] == target[common]:
                    common += 1
                if common >= len(module) or common >= len(target):
                    continue  # a module naming its own descendants or ancestors
                parent = module[:common]
                edges[(parent, module[common])].add(target[common])
    graphs = defaultdict(dict)
    for (parent, a), bs in edges.items():
        graphs[parent].setdefault(a, set()).update(bs)
    found = False
    for parent in sorted(graphs):
        for scc in components(graphs[parent]):
            if len(scc) > 1:
                found = True
                where = "::".join(parent) or "crate"
                print(f"cycle in {where}: {' <-> '.join(sorted(scc))}")
                for a in sorted(scc):
                    print(f"  {a} -> {', '.join(sorted(b for b in graphs[parent].get(a, ()) if b in scc))}")
    if not found:
        print("no cycles between modules")
    return 1 if found else 0


def components(graph):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    nodes = set(graph) | {b for bs in graph.values() for b in bs}

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = set()
            while True:
                w = stack.pop()
                on.discard(w)
                scc.add(w)
                if w == v:
                    break
            out.append(scc)

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
