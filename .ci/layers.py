#!/usr/bin/env python3
"""The shape of the code: which module imports which, read from the sources.

Prints the import circles between module files (strongly connected groups
of more than one file), the pairs of top-level modules that import each
other, and the arrows that run up the layering

    main, cli -> seed, http, jobs -> graphql -> service, analytics -> auth, webhooks
        -> policy -> db, feed, config -> rules, error, gid, telemetry, logs -> names

and, with --check, fails when there is more than the one circle allowed
(the GraphQL type graph: object types that name each other) or more than
MAX_UPWARD arrows up. Grouped imports (`use crate::{a, b::{c, d}}`), inline
paths (`crate::a::b::f()`) and `super::` paths all count.
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# Lower number: higher up. Modules of the same number may import each other
# only when it says so below; a module may import anything below it.
RANK = {
    "main": 0, "cli": 0,
    "seed": 1, "import": 1, "http": 1, "jobs": 1,
    "graphql": 2,
    "service": 3, "analytics": 3,
    "auth": 4, "webhooks": 4,
    "policy": 5,
    "feed": 5.5, "db": 6, "config": 6,
    "rules": 7, "error": 7, "gid": 7, "telemetry": 7, "logs": 7, "names": 8, "lib": 8,
}
# Pairs of the same rank that may point at each other one way: (from, to).
# telemetry registers a series per error code, so it reads the list of codes.
SIDEWAYS = {("analytics", "service"): False, ("service", "analytics"): True, ("telemetry", "error"): True}
# Arrows up allowed at most.
MAX_UPWARD = 1
# Modules that may never name these, whatever the allowance above: the
# leaves the services stand on, and the reports that read beside them.
NEVER = {
    "analytics": {"service", "graphql", "http", "jobs"},
    "db": {"service", "analytics", "graphql", "http", "jobs", "policy", "auth"},
    "auth": {"service", "graphql", "http", "jobs"},
    "webhooks": {"service", "graphql", "http", "jobs"},
    "policy": {"service", "analytics", "graphql", "http", "jobs"},
    "rules": {"service", "analytics", "graphql", "http", "jobs", "policy", "db"},
}


def modules():
    """Module path (tuple) -> file, for every .rs file under src/."""
    found = {}
    for dirpath, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if rel == ["lib"]:
                key = ()
            elif rel[-1] == "mod":
                key = tuple(rel[:-1])
            else:
                key = tuple(rel)
            found[key] = path
    return found


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] if "//" in line and '"' not in line.split("//")[0] else line
                     for line in text.splitlines())


def use_trees(text):
    """Every `use ...;` statement's tree, as text."""
    out = []
    for match in re.finditer(r"\buse\s+([^;]+);", text):
        out.append(re.sub(r"\s+", "", match.group(1)))
    return out


def expand(tree):
    """`crate::{a::{b,c},d}` -> ['crate::a::b', 'crate::a::c', 'crate::d']."""
    if "{" not in tree:
        return [tree.split(" as ")[0]]
    i = tree.index("{")
    prefix, body = tree[:i], tree[i + 1:tree.rindex("}")]
    parts, depth, current = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    if current:
        parts.append(current)
    out = []
    for part in parts:
        if part in ("self", ""):
            out.append(prefix.rstrip(":"))
        else:
            out.extend(expand(prefix + part))
    return out


def resolve(path, here, known):
    """The module a path names, as a key of `known`, or None outside the crate."""
    segments = path.split("::")
    if segments[0] == "crate":
        base = []
        segments = segments[1:]
    elif segments[0] in ("super", "self"):
        base = list(here)
        while segments and segments[0] in ("super", "self"):
            if segments[0] == "super":
                base = base[:-1]
            segments = segments[1:]
    else:
        return None
    candidate = base + segments
    while candidate and tuple(candidate) not in known:
        candidate = candidate[:-1]
    return tuple(candidate) if candidate else None


def graph():
    known = modules()
    edges = {key: set() for key in known}
    for key, path in known.items():
        with open(path, encoding="utf-8") as handle:
            text = strip_comments(handle.read())
        # A `mod.rs`-less module file's children resolve `super::` to the module itself.
        here = key
        paths = []
        for tree in use_trees(text):
            paths.extend(expand(tree))
        paths.extend(re.findall(r"\b(?:crate|super)(?:::[A-Za-z_][A-Za-z0-9_]*)+", text))
        for p in paths:
            target = resolve(p, here, known)
            if target is None or target == key:
                continue
            # A parent naming its own children is the module tree, not an import.
            if target[: len(key)] == key and len(target) > len(key):
                continue
            edges[key].add(target)
    return known, edges


def circles(edges):
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index, low, on, stack, result, counter = {}, {}, set(), [], [], [0]
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    result.append(sorted(group))
    return result


def top(key):
    return key[0] if key else "lib"


def name(key):
    return "::".join(key) if key else "lib"


def main():
    check = "--check" in sys.argv
    _, edges = graph()
    groups = circles(edges)
    pairs = set()
    upward = []
    for source, targets in edges.items():
        for target in targets:
            a, b = top(source), top(target)
            if a == b:
                continue
            if source in edges.get(target, set()) or any(top(t) == a for t in edges_of_top(edges, b)):
                pairs.add(tuple(sorted((a, b))))
            ra, rb = RANK.get(a, 6), RANK.get(b, 6)
            if rb < ra or (ra == rb and not SIDEWAYS.get((a, b), False)):
                upward.append((name(source), name(target)))
    pairs = {p for p in pairs if mutual(edges, *p)}
    print(f"import circles: {len(groups)}")
    for group in groups:
        shown = ", ".join(name(k) for k in group[:8]) + (f" (+{len(group) - 8})" if len(group) > 8 else "")
        print(f"  {len(group)} modules: {shown}")
    print(f"top-level modules importing each other: {len(pairs)}")
    for a, b in sorted(pairs):
        print(f"  {a} <-> {b}")
    print(f"arrows up the layering: {len(upward)}")
    for source, target in sorted(upward):
        print(f"  {source} -> {target}")
    if check:
        graphql_only = [g for g in groups if all(top(k) == "graphql" for k in g)]
        problems = []
        if len(groups) > 1 or len(groups) != len(graphql_only):
            problems.append("an import circle other than the GraphQL type graph")
        forbidden = sorted(
            (name(s), name(t)) for s, ts in edges.items() for t in ts if top(t) in NEVER.get(top(s), ())
        )
        for source, target in forbidden:
            problems.append(f"{source} names {target}")
        if len(upward) > MAX_UPWARD:
            problems.append(f"{len(upward)} arrows up the layering (at most {MAX_UPWARD})")
        if problems:
            print("layering: " + "; ".join(problems), file=sys.stderr)
            sys.exit(1)


def edges_of_top(edges, module):
    return [t for s, ts in edges.items() if top(s) == module for t in ts]


def mutual(edges, a, b):
    ab = any(top(t) == b for s, ts in edges.items() if top(s) == a for t in ts)
    ba = any(top(t) == a for s, ts in edges.items() if top(s) == b for t in ts)
    return ab and ba


if __name__ == "__main__":
    main()
