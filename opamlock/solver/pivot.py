"""Which compiler versions each package version can live with: a static look-ahead for the search.

Nearly every package constrains ``ocaml``, often not directly: ``h2.0.12.0`` accepts any recent
compiler, but needs ``hpack {= "0.12.0"}``, which needs ``ocaml < 5.3``. A search that pins
``ocaml.5.5.0`` first and then picks ``h2.0.12.0`` only learns of the clash two levels down, and
backtracks through dozens of unrelated pins to undo it.

This module computes, for every possible version ``c``, an over-approximation ``compat(c)`` of the
``ocaml`` versions some installation containing ``c`` can use (plus "no ocaml at all"), as a
greatest fixpoint over the dependency graph:

* ``compat(ocaml.X) = {X}``;
* an atom allows the union of ``compat`` over the versions it matches; a ``|`` the union of its
  branches; a conjunction the intersection of its parts;
* ``compat(c)`` is the intersection over ``c``'s ``depends``.

It is only ever used to *order* candidates (those that can live with the pinned compiler come
first), so the approximation costs no solution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opamlock.formula import And, Atom, Resolved
from opamlock.solver.candidates import PkgInfo
from opamlock.solver.prune import Matcher

__all__ = ["PIVOT", "Compat"]

PIVOT = "ocaml"


@dataclass(frozen=True, slots=True)
class _AtomNode:
    """An atom, compiled: the pivot bits it matches, and the other versions it matches (by id)."""

    pivots: int
    deps: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _AndNode:
    parts: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _OrNode:
    parts: tuple[_Node, ...]


#: ``None`` holds with any pivot (no constraint, or an atom on the owner itself).
_Node = _AtomNode | _AndNode | _OrNode | None


class Compat:
    """``compat`` as bit sets over the possible pivot versions (bit 0: no pivot installed).

    The fixpoint re-evaluates ``depends`` formulas many times, so each one is compiled once into
    nodes holding the matched versions directly (no version matching in the loop); the compiled
    formulas are shared with :meth:`restricted`.
    """

    def __init__(self, live: Mapping[str, Sequence[PkgInfo]], match: Matcher,
                 dependents: Mapping[str, Sequence[PkgInfo]]) -> None:
        self.match = match
        pivots = list(live.get(PIVOT, ()))
        self.bit = {id(p): 1 << (k + 1) for k, p in enumerate(pivots)}
        everything = (1 << (len(pivots) + 1)) - 1
        self.all = everything
        self._alive = {i for infos in live.values() for i in infos}
        self._pivots_alive = everything
        self.of: dict[int, int] = {}
        for infos in live.values():
            for i in infos:
                self.of[id(i)] = self.bit[id(i)] if i.name == PIVOT else everything
        self._dependents = dependents
        self._compiled: dict[int, _Node] = {
            id(i): self._compile(i.depends, i) for infos in live.values() for i in infos if i.name != PIVOT}
        self._settle([i for infos in live.values() for i in infos])

    def _compile(self, f: Resolved | None, owner: PkgInfo) -> _Node:
        if f is None:
            return None
        if isinstance(f, Atom):
            if f.name == owner.name:
                return None
            matched = [d for d in self.match(f) if d in self._alive]
            pivot_bits = 0
            for d in matched:
                if d.name == PIVOT:
                    pivot_bits |= self.bit[id(d)]
            return _AtomNode(pivot_bits, tuple(id(d) for d in matched if d.name != PIVOT))
        parts = tuple(self._compile(x, owner) for x in f.items)
        return _AndNode(parts) if isinstance(f, And) else _OrNode(parts)

    def _eval(self, n: _Node) -> int:
        if n is None:
            return self.all
        if type(n) is _AtomNode:
            acc = n.pivots & self._pivots_alive
            of = self.of
            for k in n.deps:
                acc |= of[k]
            return acc
        if type(n) is _AndNode:
            acc = self.all
            for x in n.parts:
                acc &= self._eval(x)
                if not acc:
                    break
            return acc
        acc = 0
        for x in n.parts:  # type: ignore[union-attr]
            acc |= self._eval(x)
        return acc

    def _settle(self, work: list[PkgInfo]) -> None:
        """Shrink ``of`` to the greatest fixpoint, starting from the versions in ``work``."""
        work = [i for i in work if i.name != PIVOT and i in self._alive]
        compiled, of = self._compiled, self.of
        while work:
            changed: set[str] = set()
            for i in work:
                old = of[id(i)]
                new = self._eval(compiled[id(i)]) & old
                if new != old:
                    of[id(i)] = new
                    changed.add(i.name)
            work = [d for n in sorted(changed) for d in self._dependents.get(n, ())
                    if d.name != PIVOT and d in self._alive]

    def restricted(self, keep: set[PkgInfo]) -> Compat:
        """``compat`` when only the versions in ``keep`` may be installed.

        Used with the *good* versions (not avoided): a version's mask then says with which
        compilers it can be installed without any avoided package. It starts from this fixpoint
        (an upper bound) and re-evaluates only from the dependents of the removed versions.
        """
        out = Compat.__new__(Compat)
        out.match = self.match
        out.bit = self.bit
        out.all = self.all
        out._dependents = self._dependents
        out._compiled = self._compiled
        out._alive = self._alive & keep
        removed = self._alive - out._alive
        out.of = dict(self.of)
        out._pivots_alive = self._pivots_alive
        for i in removed:
            out.of[id(i)] = 0
            if i.name == PIVOT:
                out._pivots_alive &= ~self.bit[id(i)]
        names = sorted({i.name for i in removed})
        out._settle([d for n in names for d in self._dependents.get(n, ())])
        return out

    def mask(self, info: PkgInfo) -> int:
        """The pivot versions some installation with ``info`` can use (0 if ``info`` is out)."""
        return self.of.get(id(info), 0) if info in self._alive else 0

    def formula(self, f: Resolved | None, owner: PkgInfo | None = None) -> int:
        if f is None:
            return self.all
        if isinstance(f, Atom):
            if owner is not None and f.name == owner.name:
                return self.all
            acc = 0
            for d in self.match(f):
                if d in self._alive:
                    acc |= self.of[id(d)]
            return acc
        if isinstance(f, And):
            acc = self.all
            for x in f.items:
                acc &= self.formula(x, owner)
            return acc
        acc = 0
        for x in f.items:
            acc |= self.formula(x, owner)
        return acc

    def allows(self, info: PkgInfo, pivot: PkgInfo) -> bool:
        """Can some installation with ``info`` use this pivot version?"""
        return bool(self.of.get(id(info), self.all) & self.bit.get(id(pivot), 0))

    def formula_allows(self, f: Resolved, pivot: PkgInfo) -> bool:
        return bool(self.formula(f) & self.bit.get(id(pivot), 0))
