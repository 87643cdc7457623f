"""Preference (1) for the whole solution: no avoided version unless unavoidable.

The factory orders candidates so that good (not avoided) versions come first, and versions that
can share a compiler with the roots using good versions only before those that cannot. That is
a per-version judgement, with a compiler-wide look-ahead; it cannot see every interaction (two
good versions that only fit together with an avoided third one, one version per name). So after
a search whose solution still holds avoided versions, this pass re-solves with them excluded as
hard constraints, keeping the best solution found, within a time budget:

* exclude every avoided version met so far, all at once. The exclusions only grow, and each
  successful re-solve adds at least one new one, so if an avoid-free solution exists this reaches
  one, given time (every exclusion keeps it possible);
* when excluding them all at once is impossible, some are unavoidable (say the request pins the
  ``+trunk`` compiler): try them one at a time instead, keeping the first exclusion that works.

Solutions compare by the issue's order: fewer avoided versions, then newer requested versions in
request order, then fewer packages. Newer dependencies (3) are left to the search's own order.
A locked avoided version is not counted, as opam does not count an installed one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opamlock.solver.solution import Solution
from opamlock.version import OpamVersion, compare_versions

__all__ = ["Attempt", "Exclusions", "fewest_avoided"]

Exclusions = frozenset[tuple[str, OpamVersion]]


@dataclass(frozen=True)
class Attempt:
    """A solution and the avoided versions it holds (those a re-solve may exclude)."""

    solution: Solution
    avoided: Exclusions


#: ``search(exclude, deadline)``: a solution without the excluded versions, or None when there is
#: none or the deadline passed first.
Search = Callable[[Exclusions, float], Attempt | None]


def fewest_avoided(search: Search, first: Attempt, roots: Sequence[str], deadline: float) -> Attempt:
    """The best solution found by re-solving without avoided versions before ``deadline``."""
    best = cur = first
    excluded: Exclusions = frozenset()
    while cur.avoided and time.monotonic() < deadline:
        new = cur.avoided - excluded
        nxt = search(excluded | new, deadline)
        if nxt is not None:
            excluded |= new
        elif len(new) > 1:
            for one in sorted(new, key=lambda nv: (nv[0], str(nv[1]))):
                if time.monotonic() >= deadline:
                    break
                nxt = search(excluded | {one}, deadline)
                if nxt is not None:
                    excluded |= {one}
                    break
        if nxt is None:
            break
        cur = nxt
        if better(cur, best, roots):
            best = cur
    return best


def better(a: Attempt, b: Attempt, roots: Sequence[str]) -> bool:
    """Is ``a`` preferred to ``b``? (Fewer avoided, newer roots in request order, fewer packages.)"""
    if len(a.avoided) != len(b.avoided):
        return len(a.avoided) < len(b.avoided)
    pa, pb = a.solution.packages, b.solution.packages
    for name in roots:
        if name in pa and name in pb:
            c = compare_versions(str(pa[name].version), str(pb[name].version))
            if c:
                return c > 0
    return len(pa) < len(pb)
