"""The solver: opam's semantics on resolvelib, with static pruning and explained failures.

One entry point, :func:`solve`. It returns a :class:`Solution` or raises :class:`SolveError`,
whose message is a short chain from the request to the clash. A search that hits its time or
round limit also raises :class:`SolveError`, saying so: a limit is never presented as a proof.

A solution that holds avoided versions is followed by re-solves without them (:mod:`.avoided`):
avoided versions are for when they are unavoidable for the whole solution, not just for one
package. That pass is bounded by counts, not by the clock, so that the answer never depends on
the machine's speed (a lock must not): at most :data:`AVOID_ATTEMPTS` re-solves, sharing as many
search rounds as the first search used (at least :data:`AVOID_MIN_ROUNDS`). Only the overall
``timeout`` can cut it short, and then the best solution found so far is returned.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep
from resolvelib.resolvers import Resolution

from opamlock.env import PlatformVars, SolveFlags
from opamlock.formula import Atom
from opamlock.package import Package
from opamlock.solver.avoided import Attempt, Exclusions, fewest_avoided
from opamlock.solver.candidates import PkgCandidate, PkgInfo
from opamlock.solver.explain import explain_search_failure, explain_static_failure, request_text
from opamlock.solver.factory import Factory, UniverseLike
from opamlock.solver.provider import Provider
from opamlock.solver.solution import Solution, SolveError
from opamlock.version import OpamVersion

__all__ = ["Solution", "SolveError", "UniverseLike", "solve"]

DEFAULT_MAX_ROUNDS = 20_000
NO_FLAGS = SolveFlags()
DEFAULT_TIMEOUT = 20.0
#: Re-solves the whole-solution avoided-version pass may make.
AVOID_ATTEMPTS = 6
#: Search rounds the re-solves share, at least (as many as the first search used, if more).
AVOID_MIN_ROUNDS = 1000


class _OutOfTime(Exception):
    def __init__(self, rounds: int) -> None:
        self.rounds = rounds


class _Clock(BaseReporter):  # type: ignore[type-arg,misc]
    """Bounds the search in wall-clock time and forwards progress to the caller's reporter."""

    def __init__(self, deadline: float, inner: Any) -> None:
        self.deadline = deadline
        self.inner = inner
        self.rounds = 0

    def starting_round(self, index: int) -> None:
        self.rounds = index
        if index % 16 == 0 and time.monotonic() > self.deadline:
            raise _OutOfTime(index)
        self._fwd("starting_round", index=index)

    def _fwd(self, hook: str, **kw: Any) -> None:
        if self.inner is not None:
            getattr(self.inner, hook)(**kw)

    def starting(self) -> None:
        self._fwd("starting")

    def ending_round(self, index: int, state: Any) -> None:
        self._fwd("ending_round", index=index, state=state)

    def ending(self, state: Any) -> None:
        self._fwd("ending", state=state)

    def adding_requirement(self, requirement: Any, parent: Any) -> None:
        self._fwd("adding_requirement", requirement=requirement, parent=parent)

    def resolving_conflicts(self, causes: Any) -> None:
        self._fwd("resolving_conflicts", causes=causes)

    def rejecting_candidate(self, criterion: Any, candidate: Any) -> None:
        self._fwd("rejecting_candidate", criterion=criterion, candidate=candidate)

    def pinning(self, candidate: Any) -> None:
        self._fwd("pinning", candidate=candidate)


def solve(
    universe: UniverseLike,
    request: Sequence[Atom],
    *,
    platform: PlatformVars,
    flags: SolveFlags = NO_FLAGS,
    locked: Mapping[str, OpamVersion] | None = None,
    avoid: Callable[[Package], bool] | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    timeout: float = DEFAULT_TIMEOUT,
    reporter: Any = None,
) -> Solution:
    """Choose one version per name so that every requested atom and every formula holds.

    ``locked`` versions are preferred while they still fit (minimal update); ``avoid`` marks
    candidates to use only when unavoidable, like ``avoid-version``.
    """
    if not request:
        return Solution(platform=platform, flags=flags, request=(), packages={}, edges={})
    # A loaded universe is millions of objects; the cyclic collector scanning them again and again
    # would cost more than the whole search, which allocates little that is cyclic.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _solve(universe, request, platform=platform, flags=flags, locked=locked, avoid=avoid,
                      max_rounds=max_rounds, timeout=timeout, reporter=reporter)
    finally:
        if was_enabled:
            gc.enable()


def _solve(
    universe: UniverseLike,
    request: Sequence[Atom],
    *,
    platform: PlatformVars,
    flags: SolveFlags,
    locked: Mapping[str, OpamVersion] | None,
    avoid: Callable[[Package], bool] | None,
    max_rounds: int,
    timeout: float,
    reporter: Any,
) -> Solution:
    start = time.monotonic()
    deadline = start + timeout
    memo: dict[tuple[str, OpamVersion], PkgInfo] = {}
    first_clock = _Clock(deadline, reporter)
    first, factory = _search(universe, request, platform=platform, flags=flags, locked=locked,
                             avoid=avoid, exclude=frozenset(), max_rounds=max_rounds, start=start,
                             clock=first_clock, memo=memo)
    # A name every solution has, whose every possible version is avoided: no re-solve can help.
    unavoidable = frozenset((i.name, i.version) for n in factory.forced for i in factory.live.get(n, ())
                            if all(j.avoided for j in factory.live[n]))
    first = Attempt(first.solution, first.avoided - unavoidable)
    if not first.avoided:
        return first.solution
    budget = max(AVOID_MIN_ROUNDS, first_clock.rounds)

    def retry(exclude: Exclusions) -> Attempt | None:
        nonlocal budget
        if budget <= 0 or time.monotonic() >= deadline:
            return None
        clock = _Clock(deadline, reporter)
        try:
            found, _ = _search(universe, request, platform=platform, flags=flags, locked=locked,
                               avoid=avoid, exclude=exclude, max_rounds=budget, start=start,
                               clock=clock, memo=memo)
            return Attempt(found.solution, found.avoided - unavoidable)
        except SolveError:
            return None
        finally:
            budget -= clock.rounds

    roots = list(dict.fromkeys(a.name for a in request))
    return fewest_avoided(retry, first, roots, AVOID_ATTEMPTS).solution


def _search(
    universe: UniverseLike,
    request: Sequence[Atom],
    *,
    platform: PlatformVars,
    flags: SolveFlags,
    locked: Mapping[str, OpamVersion] | None,
    avoid: Callable[[Package], bool] | None,
    exclude: Exclusions,
    max_rounds: int,
    start: float,
    clock: _Clock,
    memo: dict[tuple[str, OpamVersion], PkgInfo],
) -> tuple[Attempt, Factory]:
    factory = Factory(universe, request, platform=platform, flags=flags, locked=locked, avoid=avoid,
                      exclude=exclude, memo=memo)
    static = explain_static_failure(factory, request)
    if static is not None:
        raise static
    # Resolution, not Resolver: Resolver.resolve then builds a graph of the pins through
    # resolvelib's _has_route_to_root, which recurses without a visited set and never returns on a
    # dependency cycle cut off from the roots by backtracking (RecursionError, found by the
    # avoided-version law in tests/test_solver_avoid.py). The pins are all we need: the closure
    # from the roots is ours.
    resolution = Resolution(Provider(factory), clock)
    try:
        state = resolution.resolve(factory.root_requirements(), max_rounds=max_rounds)
    except ResolutionImpossible as e:
        raise explain_search_failure(list(e.causes), request, factory.or_owners) from None
    except (_OutOfTime, ResolutionTooDeep):
        raise SolveError(
            f"gave up on `{request_text(request)}` after {clock.rounds} search rounds "
            f"({time.monotonic() - start:.1f} s) without finding a solution or proving there is none",
            hint="this is a limit of the search, not a proof that the request is impossible; "
                 "pin more versions (e.g. the compiler) to narrow it",
        ) from None
    chosen: dict[str, PkgInfo] = {
        name: c.info for name, c in state.mapping.items() if isinstance(c, PkgCandidate)
    }
    kept = factory.closure(chosen)
    packages = {name: kept[name].package for name in sorted(kept)}
    edges = {name: factory.edges(kept[name], kept) for name in sorted(kept)}
    solution = Solution(platform=platform, flags=flags, request=tuple(request), packages=packages,
                        edges=edges)
    avoided = frozenset((i.name, i.version) for i in kept.values()
                        if i.avoided and factory.locked.get(i.name) != i.version)
    return Attempt(solution, avoided), factory
