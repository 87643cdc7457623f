"""Preference (1) for the whole solution: no avoided version unless unavoidable.

The factory orders candidates so that good (not avoided) versions come first, and versions that
can share a compiler with the roots using good versions only before those that cannot. That is
a per-version judgement, with a compiler-wide look-ahead; it cannot see every interaction (two
good versions that only fit together with an avoided third one, one version per name). So after
a search whose solution still holds avoided versions, this pass re-solves with them excluded as
hard constraints, keeping the best solution found, within a number of attempts (the caller
bounds each attempt's search):

* exclude every avoided version met so far, all at once. The exclusions only grow, and each
  successful re-solve adds at least one new one, so if an avoid-free solution exists this reaches
  one, given time (every exclusion keeps it possible);
* when excluding them all at once is impossible, some are unavoidable (say the request pins the
  ``+trunk`` compiler): try them one at a time instead, keeping the first exclusion that works
  and never trying again one whose exclusion failed (more exclusions cannot make it work).

Solutions compare by the issue's order: fewer avoided versions, then newer requested versions in
request order, then fewer packages. Newer dependencies (3) are left to the search's own order.
A locked avoided version is not counted, as opam does not count an installed one.
"""

from __future__ import annotations

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


#: ``search(exclude)``: a solution without the excluded versions, or None when there is none or
#: the caller's budget is spent.
Search = Callable[[Exclusions], Attempt | None]


def fewest_avoided(search: Search, first: Attempt, roots: Sequence[str], attempts: int) -> Attempt:
    """The best solution found by at most ``attempts`` re-solves without avoided versions."""
    best = cur = first
    excluded: Exclusions = frozenset()
    # Versions whose exclusion failed: excluding more only removes solutions, so as long as the
    # exclusions grow, trying them again cannot work.
    hopeless: set[tuple[str, OpamVersion]] = set()
    left = attempts

    def tried(exclude: Exclusions) -> Attempt | None:
        nonlocal left
        left -= 1
        return search(exclude)

    while left > 0:
        new = cur.avoided - excluded - hopeless
        if not new:
            break
        nxt = tried(excluded | new)
        if nxt is not None:
            excluded |= new
        elif len(new) == 1:
            hopeless |= new
        else:
            for one in sorted(new, key=lambda nv: (nv[0], str(nv[1]))):
                if left <= 0:
                    break
                nxt = tried(excluded | {one})
                if nxt is not None:
                    excluded |= {one}
                    break
                hopeless.add(one)
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
