"""The locked solution as a graph: why a package is there, and what the project pulls in.

Nodes are package names (roots included) for one platform, carrying ``version`` and ``root``;
an edge ``a -> b`` carries ``kinds``, the set of reasons ``a`` needs ``b`` (runtime, build…).
Every listing is sorted, so output is stable and testable as golden text.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import networkx as nx

from opamlock.errors import OpamlockError
from opamlock.lockfile import Lock

__all__ = ["DEFAULT_TREE_KINDS", "PathStep", "lock_graph", "render_path", "tree_lines", "why"]

DEFAULT_TREE_KINDS: frozenset[str] = frozenset({"runtime"})


@dataclass(frozen=True, slots=True)
class PathStep:
    """One node of a path; ``kinds`` are the kinds of the edge that led here (empty for the root)."""

    name: str
    version: str
    kinds: tuple[str, ...] = ()


def lock_graph(lock: Lock, platform: str | None = None, kinds: Collection[str] | None = None) -> nx.DiGraph:
    """The dependency graph of ``lock`` on ``platform``; ``kinds`` keeps only those edge kinds."""
    pl = lock.platform(platform).name
    g = nx.DiGraph()
    records = [(r, True) for r in lock.roots_for(pl)] + [(p, False) for p in lock.packages_for(pl)]
    for rec, is_root in records:
        g.add_node(rec.name, version=rec.version, root=is_root)
    for rec, _ in records:
        for d in rec.depends:
            if kinds is not None and d.kind not in kinds:
                continue
            if g.has_edge(rec.name, d.name):
                edge = g.edges[rec.name, d.name]
                edge["kinds"] = tuple(sorted({*edge["kinds"], d.kind}))
            else:
                g.add_edge(rec.name, d.name, kinds=(d.kind,))
    return g


def _roots(g: nx.DiGraph) -> list[str]:
    return sorted(n for n, data in g.nodes(data=True) if data["root"])


def why(lock: Lock, name: str, platform: str | None = None,
        kinds: Collection[str] | None = None) -> list[list[PathStep]]:
    """Every shortest path from each root that reaches ``name``, sorted; [] if none reaches it.

    Raises when ``name`` is not in the lock at all, so a typo is not mistaken for "unused".
    """
    g = lock_graph(lock, platform, kinds)
    if name not in g:
        raise OpamlockError(
            f"{name} is not in the lock for platform {lock.platform(platform).name}",
            hint="`opamlock tree --all-kinds` lists what is locked",
        )
    paths: list[list[PathStep]] = []
    for root in _roots(g):
        if root == name:
            paths.append([PathStep(root, g.nodes[root]["version"])])
            continue
        if not nx.has_path(g, root, name):
            continue
        for p in nx.all_shortest_paths(g, root, name):
            steps = [PathStep(p[0], g.nodes[p[0]]["version"])]
            for a, b in itertools.pairwise(p):
                steps.append(PathStep(b, g.nodes[b]["version"], tuple(g.edges[a, b]["kinds"])))
            paths.append(steps)
    paths.sort(key=lambda ps: [(s.name, s.kinds) for s in ps])
    return paths


def render_path(path: Iterable[PathStep]) -> str:
    """``app.dev -> tcpip.9.0.1 -> cstruct.6.2.0 (build)``: a kind is shown when not runtime."""
    parts = []
    for s in path:
        label = f"{s.name}.{s.version}"
        shown = [k for k in s.kinds if k != "runtime"]
        if shown:
            label += f" ({', '.join(shown)})"
        parts.append(label)
    return " -> ".join(parts)


def tree_lines(lock: Lock, platform: str | None = None,
               kinds: Collection[str] | None = DEFAULT_TREE_KINDS) -> list[str]:
    """An indented tree from each root, as ``cargo tree`` draws it; a repeated subtree shows ``(*)``."""
    g = lock_graph(lock, platform, kinds)
    lines: list[str] = []
    expanded: set[str] = set()

    def walk(node: str, prefix: str, edge_kinds: tuple[str, ...], last: bool, top: bool) -> None:
        label = f"{node} {g.nodes[node]['version']}"
        shown = [k for k in edge_kinds if k != "runtime"]
        if shown:
            label += f" ({', '.join(shown)})"
        children = sorted(g.successors(node))
        repeat = node in expanded and bool(children)
        if repeat:
            label += " (*)"
        if top:
            lines.append(label)
            child_prefix = ""
        else:
            lines.append(prefix + ("└── " if last else "├── ") + label)
            child_prefix = prefix + ("    " if last else "│   ")
        if repeat:
            return
        expanded.add(node)
        for i, c in enumerate(children):
            walk(c, child_prefix, tuple(g.edges[node, c]["kinds"]), i == len(children) - 1, False)

    for root in _roots(g):
        walk(root, "", (), True, True)
    return lines
