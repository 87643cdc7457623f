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

from opamlock.formula import And, Atom, Resolved
from opamlock.solver.candidates import PkgInfo
from opamlock.solver.prune import Matcher

__all__ = ["PIVOT", "Compat"]

PIVOT = "ocaml"


class Compat:
    """``compat`` as bit sets over the possible pivot versions (bit 0: no pivot installed)."""

    def __init__(self, live: Mapping[str, Sequence[PkgInfo]], match: Matcher,
                 dependents: Mapping[str, Sequence[PkgInfo]]) -> None:
        self.match = match
        pivots = list(live.get(PIVOT, ()))
        self.bit = {id(p): 1 << (k + 1) for k, p in enumerate(pivots)}
        everything = (1 << (len(pivots) + 1)) - 1
        self.all = everything
        self._alive = {i for infos in live.values() for i in infos}
        self.of: dict[int, int] = {}
        for infos in live.values():
            for i in infos:
                self.of[id(i)] = self.bit[id(i)] if i.name == PIVOT else everything
        self._dependents = dependents
        self._settle([i for infos in live.values() for i in infos])

    def _settle(self, work: list[PkgInfo]) -> None:
        """Shrink ``of`` to the greatest fixpoint, starting from the versions in ``work``."""
        work = [i for i in work if i.name != PIVOT and i in self._alive]
        while work:
            changed: set[str] = set()
            for i in work:
                new = self.formula(i.depends, owner=i) & self.of[id(i)]
                if new != self.of[id(i)]:
                    self.of[id(i)] = new
                    changed.add(i.name)
            work = [d for n in sorted(changed) for d in self._dependents.get(n, ())
                    if d.name != PIVOT and d in self._alive]

    def restricted(self, keep: set[PkgInfo]) -> Compat:
        """``compat`` when only the versions in ``keep`` may be installed.

        Used with the *good* versions (not avoided): a version's mask then says with which
        compilers it can be installed without any avoided package. Starting from this fixpoint,
        only the dependents of the removed versions can shrink, so this costs a fraction of the
        first computation.
        """
        out = Compat.__new__(Compat)
        out.match = self.match
        out.bit = self.bit
        out.all = self.all
        out._dependents = self._dependents
        out._alive = self._alive & keep
        removed = self._alive - out._alive
        out.of = {k: v for k, v in self.of.items()}
        for i in removed:
            out.of[id(i)] = 0
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
