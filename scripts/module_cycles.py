#!/usr/bin/env python3
"""Module import cycles inside each crate of the workspace.

Usage: scripts/module_cycles.py [REPO_ROOT] [-v] [--all-levels]

Granularity: by default, the top-level modules of each crate (the children of `lib.rs` /
`main.rs`, e.g. `assay_compose::loader`). Module `a` depends on module `b` when any file or
inline module inside `a` (nested ones included) names a path into `b`: `crate::b::...`,
`crate::{b, ...}`, or a `super::`/`self::` path that resolves into `b`. Items defined in the
crate root itself (`crate::LoadOptions`) are not a module and make no edge. With
`--all-levels`, the same is done among the children of every module too (e.g. between
`cmd::args` and `cmd::evaluate`), each level on its own.

It reads paths in the source text, after removing comments, strings and char literals; it does
not expand macros, follow `#[path]` attributes, or resolve bare paths that go through a `use`
alias (`use crate::a as x; x::f()` counts as an edge to `a` once, at the `use`). Files under
`src/bin/` are separate crates and skipped.

Prints one line per crate (modules, edges, cycles) and, with -v, the edges inside each cycle.
Exit status: 0 when no crate has a cycle, 1 otherwise.
"""
import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_code(text):
    """The text with comments, string literals and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:i + 300])) and (i == 0 or not re.match(r"\w", text[i - 1])):
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            # a char literal ('x', '\n', '\u{1F600}', '{'), else a lifetime or label
            m = re.match(r"'(\\u\{[0-9A-Fa-f]+\}|\\.|[^\\'])'", text[i:i + 12])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def group_heads(body):
    """The first segment of each item of a `{a, b::c, d::{e, f}, self}` group body."""
    heads, depth, item = [], 0, ""
    for ch in body + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            m = re.match(r"\s*(" + IDENT + ")", item)
            if m:
                heads.append(m.group(1))
            item = ""
        else:
            item += ch
    return heads


def balanced(text, start):
    """The body of the `{...}` group opening at text[start]."""
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:j]
    return text[start + 1:]


PATH = re.compile(r"(?<![\w$:])((?:crate|super|self)(?:\s*::\s*(?:super|self))*)\s*::\s*(\{|" + IDENT + r"(?:\s*::\s*" + IDENT + r")*)")
MOD_OPEN = re.compile(r"\bmod\s+(" + IDENT + r")\s*\{")


def references(text, file_mod):
    """(module path of the place, absolute target path) for each crate-relative path in text."""
    # inline `mod x { ... }` blocks: the module path at each offset
    spans = []  # (start, end, name)
    for m in MOD_OPEN.finditer(text):
        body_start = m.end() - 1
        body = balanced(text, body_start)
        spans.append((body_start, body_start + len(body) + 2, m.group(1)))

    def module_at(pos):
        path = list(file_mod)
        for s, e, name in spans:  # spans come in source order, outer before inner
            if s <= pos < e:
                path.append(name)
        return path

    for m in PATH.finditer(text):
        here = module_at(m.start())
        anchor = [a.strip() for a in m.group(1).split("::")]
        if anchor[0] == "crate":
            base = []
        elif anchor[0] == "self":
            base = list(here)
        else:
            base = here[:-1] if here else []
        for a in anchor[1:]:
            base = base[:-1] if a == "super" else base
        rest = m.group(2)
        if rest == "{":
            for head in group_heads(balanced(text, m.end() - 1)):
                if head != "self":
                    yield here, base + [head]
                else:
                    yield here, base
        else:
            yield here, base + [s.strip() for s in rest.split("::")]


def file_module(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod" or (len(rel) == 1 and rel[0] in ("lib", "main")):
        rel = rel[:-1]
    return rel


def tarjan(nodes, edges):
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
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
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return sccs


def crate_graphs(src, all_levels):
    """{parent module path: (children, edges among them)} for one crate's src directory."""
    modules = set()
    refs = []
    for d, dirs, files in os.walk(src):
        rel = os.path.relpath(d, src)
        if rel == "bin" or rel.startswith("bin" + os.sep):
            continue
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            p = os.path.join(d, f)
            mod = file_module(src, p)
            modules.add(tuple(mod))
            text = strip_code(open(p, encoding="utf-8").read())
            for m in MOD_OPEN.finditer(text):
                modules.add(tuple(mod + [m.group(1)]))  # inline modules (approximate nesting)
            refs.extend(references(text, mod))
    known = {m[:k] for m in modules for k in range(1, len(m) + 1)}
    graphs = defaultdict(lambda: (set(), defaultdict(set)))
    for m in known:
        if all_levels or len(m) == 1:
            graphs[m[:-1]][0].add(m[-1])
    for here, target in refs:
        # the longest prefix of the target that is a module
        t = tuple(target)
        while t and t not in known:
            t = t[:-1]
        for k in range(min(len(here), len(t))):
            if tuple(here[:k]) != t[:k]:
                break
            if here[k] != t[k]:
                if all_levels or k == 0:
                    graphs[t[:k]][1][here[k]].add(t[k])
                break
    return graphs


def main(argv):
    args = [a for a in argv if not a.startswith("-")]
    verbose, all_levels = "-v" in argv, "--all-levels" in argv
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    crates = {"assay": os.path.join(root, "src")}
    crates_dir = os.path.join(root, "crates")
    for c in sorted(os.listdir(crates_dir)) if os.path.isdir(crates_dir) else []:
        crates[c] = os.path.join(crates_dir, c, "src")
    found = False
    for name, src in sorted(crates.items()):
        if not os.path.isdir(src):
            continue
        graphs = crate_graphs(src, all_levels)
        for parent in sorted(graphs):
            children, edges = graphs[parent]
            sccs = tarjan(children, edges)
            where = name + "".join("::" + p for p in parent)
            if parent and not sccs:
                continue
            n_edges = sum(len(v) for v in edges.values())
            print(f"{where}: {len(children)} modules, {n_edges} edges, "
                  f"cycles: {', '.join('{' + ', '.join(c) + '}' for c in sccs) if sccs else 'none'}")
            found = found or bool(sccs)
            if verbose:
                for comp in sccs:
                    for a in comp:
                        for b in sorted(edges.get(a, ())):
                            if b in comp:
                                print(f"   {a} -> {b}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
