"""The runtime dependency graph of a locked (or solved) set: what is linked into the unikernel.

Nodes are package names (a lock holds one version per name per platform); an edge ``a → b``
means ``a`` links ``b``: a runtime edge, not to a host tool, compiler or ``conf-*`` tool, and not
excused by a rule. Markers (``base-unix``, ``conf-gmp``…) are not nodes: they are findings on the
package that depends on them. The linked set is what the project's roots reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from opamlock.mirage.markers import Marker, edge_markers, runtime_names, self_markers
from opamlock.mirage.rules import Rules

__all__ = ["LinkNode", "RuntimeGraph"]

_SOURCE = "\x00roots"  # a virtual node above every root, so one BFS finds every shortest chain


@dataclass(frozen=True, slots=True)
class LinkNode:
    """One package of the set, as the check needs it (from a lock record or a solution)."""

    name: str
    version: str
    depends: tuple[tuple[str, str], ...]  # (name, kind) of the edges the set relies on
    depexts: tuple[str, ...] = ()
    repository: str = ""
    #: Does it build with dune? ``None`` when unknown (a project root, a virtual package).
    dune: bool | None = None
    cross_compile_required: bool = False
    cross_compile_tagged: bool = True

    @property
    def nv(self) -> str:
        return f"{self.name}.{self.version}" if self.version else self.name


class RuntimeGraph:
    def __init__(
        self, nodes: Iterable[LinkNode], roots: Sequence[str], rules: Rules, *, own: Iterable[str] = ()
    ) -> None:
        """``own`` names the project's own packages: their names and depexts are not judged."""
        self.rules = rules
        self.own = frozenset(own)
        self.nodes: Mapping[str, LinkNode] = {n.name: n for n in nodes}
        self.roots = tuple(r for r in roots if r in self.nodes)
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        for n in self.nodes.values():
            for dep in runtime_names(n.name, n.depends, rules):
                if dep in self.nodes:
                    g.add_edge(n.name, dep)
        self.graph = g
        g2 = g.copy()
        g2.add_node(_SOURCE)
        g2.add_edges_from((_SOURCE, r) for r in self.roots)
        self._paths: dict[str, list[str]] = nx.single_source_shortest_path(g2, _SOURCE)

    def linked(self) -> list[str]:
        """Names linked into the unikernel (the roots included), sorted."""
        return sorted(n for n in self._paths if n != _SOURCE)

    def chain(self, name: str) -> tuple[str, ...]:
        """The shortest chain ``root → … → name`` as ``name.version`` strings, or ``()``."""
        path = self._paths.get(name)
        if path is None:
            return ()
        return tuple(self.nodes[p].nv for p in path[1:])

    def markers(self, name: str) -> tuple[Marker, ...]:
        n = self.nodes[name]
        if name in self.own:
            # The project's own package: only its edges can be the problem, not its name.
            return tuple(edge_markers(name, n.depends, self.rules))
        own = self_markers(name, n.depexts, self.rules)
        return own + tuple(m for m in edge_markers(name, n.depends, self.rules) if m not in own)

    def reverse_count(self, name: str) -> int:
        """How many linked packages reach ``name`` (they inherit its problem)."""
        linked = set(self._paths)
        return sum(1 for a in nx.ancestors(self.graph, name) if a in linked)
