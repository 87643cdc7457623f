"""Everything the search knows about the universe: candidates, their order, their dependencies.

Following pip's design, the resolvelib provider stays thin and asks this factory. The factory
reads only the versions reachable from the request, evaluates their formulas once against the
platform (roots get the ``with-test``/``with-doc`` flags), prunes statically (:mod:`.prune`), and
then answers three questions: which candidates an identifier has, in which order of preference,
and what each candidate requires.

Preferences live here as orderings, never as filters, so they cannot cost a solution:

1. a *good* version first: not avoided (``avoid-version``, ``deprecated``, or the caller's
   ``avoid``) and able to be installed with good versions only, under one compiler. This is what
   keeps ``ocaml.5.5.1``, whose only implementation is an avoid-version ``+trunk`` variant, behind
   ``ocaml.5.4``; a locked version comes before all;
2. a version consistent with what is already pinned, so a dependency does not drag the compiler
   down when an older version of that dependency fits the compiler chosen;
3. a version that can share a compiler with the pinned roots (and the pinned compiler) using good
   versions only. Being good is judged per version; this judges the combination: ``ocaml.5.5.0``
   is good, but ``cohttp-eio`` needs ``ocamlfind``, whose only version for 5.5 is an
   avoid-version preview, so ``ocaml.5.4`` comes first for it;
4. newest first.

Exclusions (``exclude``) are hard: the solver's whole-solution pass (``opamlock.solver``) uses
them to re-solve without the avoided versions a first solution contained.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Protocol, overload

from opamlock.env import PlatformVars, SolveFlags, conflicts_env, package_env
from opamlock.formula import And, Atom, Or, Resolved, atoms_of
from opamlock.package import Package
from opamlock.solver.candidates import Absent, Branch, Candidate, ClassPick, PkgCandidate, PkgInfo
from opamlock.solver.pivot import PIVOT, Compat
from opamlock.solver.prune import (
    Excluded,
    Matcher,
    conjuncts,
    dependents_index,
    holds,
    prune,
    sat_fixpoint,
)
from opamlock.solver.requirements import Choose, Forbid, Member, Need, Requirement, choose
from opamlock.version import OpamVersion

__all__ = ["Factory", "UniverseLike"]


class PinOrdered(Sequence[Candidate]):
    """A fixed set of candidates whose order follows resolvelib's pins *when it is read*.

    resolvelib asks for an identifier's candidates when a requirement on it first appears, often
    before the compiler is pinned, and keeps the answer. The set never changes (that is what
    soundness needs); the order is re-decided on each read, so that once ``ocaml`` is pinned, a
    dependency's versions that agree with it come first. Within equal rank the static order
    (locked, good, newest) holds, since sorting is stable.
    """

    def __init__(self, head: list[Candidate], items: list[Candidate], ranks: Sequence[tuple[bool, ...]],
                 fit: Callable[[], Callable[[Candidate], tuple[bool, bool]]]) -> None:
        self._head = head
        order = sorted(range(len(items)), key=lambda k: ranks[k])
        self._items = [items[k] for k in order]
        self._ranks = [ranks[k] for k in order]
        self._fit = fit

    def _ordered(self) -> list[Candidate]:
        fit = self._fit()  # read the pins once per ordering
        keyed = sorted(range(len(self._items)), key=lambda k: (self._ranks[k], fit(self._items[k])))
        return self._head + [self._items[k] for k in keyed]

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self._ordered())

    def __len__(self) -> int:
        return len(self._head) + len(self._items)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Candidate]: ...

    def __getitem__(self, index: int | slice) -> Candidate | Sequence[Candidate]:
        return self._ordered()[index]

    def __bool__(self) -> bool:
        return bool(self._head or self._items)


class UniverseLike(Protocol):
    """What the solver needs from a universe (``opamlock.repository.Universe`` provides it)."""

    def __contains__(self, name: object) -> bool: ...

    def versions(self, name: str) -> Sequence[OpamVersion]: ...

    def package(self, name: str, version: OpamVersion) -> Package: ...


class Factory:
    """Per-solve knowledge: the reachable versions, pruned, with formulas evaluated."""

    def __init__(
        self,
        universe: UniverseLike,
        request: Sequence[Atom],
        *,
        platform: PlatformVars,
        flags: SolveFlags,
        locked: Mapping[str, OpamVersion] | None = None,
        avoid: Callable[[Package], bool] | None = None,
        exclude: Collection[tuple[str, OpamVersion]] = (),
        memo: dict[tuple[str, OpamVersion], PkgInfo] | None = None,
    ) -> None:
        self.universe = universe
        self._memo = memo
        self.platform = platform
        self.flags = flags
        self.locked = dict(locked or {})
        self._avoid = avoid
        self.roots: dict[str, list[Atom]] = {}
        for a in request:
            self.roots.setdefault(a.name, []).append(a)
        self.by_name: dict[str, list[PkgInfo]] = {}
        self._load(self.roots)
        if exclude:
            excluded = set(exclude)
            for infos in self.by_name.values():
                for i in infos:
                    if (i.name, i.version) in excluded:
                        i.dead = Excluded()
        self.match = Matcher(self.by_name)
        self.forced = prune(self.by_name, self.roots, self.match)
        self.live: dict[str, list[PkgInfo]] = {
            n: [i for i in infos if i.dead is None] for n, infos in self.by_name.items()
        }
        alive = {i for infos in self.live.values() for i in infos}
        good = {i for i in alive if not i.avoided}
        live_dependents = dependents_index(self.live)
        sat_fixpoint(self.live, good, live_dependents, self.match)
        self.good = good
        self._live_set = alive
        self.compat = Compat(self.live, self.match, live_dependents)
        #: ``compat`` with good versions only: the compilers each version can have without avoided ones.
        self.good_compat = self.compat.restricted(good)
        #: Which package versions required each ``|`` identifier (for explanations).
        self.or_owners: dict[str, list[str]] = {}
        #: The ``|`` formula behind each ``|`` identifier (resolvelib may ask for its candidates
        #: after backtracking took away every requirement naming it).
        self.or_formulas: dict[str, Or] = {}
        #: The latest pins resolvelib reported (see :meth:`note_pins`); only orders candidates.
        self.pins: Mapping[str, Candidate] = {}

    # -- loading ------------------------------------------------------------------------------

    def _info(self, name: str, version: OpamVersion) -> PkgInfo:
        """``name.version`` evaluated for this solve; a fresh copy of the memo's when it has one.

        The memo lets re-solves of the same request (same platform, flags and roots, hence the
        same evaluation) skip evaluating formulas again; each factory still gets its own objects,
        since pruning marks them.
        """
        if self._memo is not None:
            seen = self._memo.get((name, version))
            if seen is not None:
                return PkgInfo(seen.name, seen.version, seen.package, seen.available, seen.depends,
                               seen.conflicts, seen.classes, seen.avoided)
        info = self._evaluate(name, version)
        if self._memo is not None:
            self._memo[(name, version)] = PkgInfo(info.name, info.version, info.package, info.available,
                                                  info.depends, info.conflicts, info.classes, info.avoided)
        return info

    def _evaluate(self, name: str, version: OpamVersion) -> PkgInfo:
        pkg = self.universe.package(name, version)
        env = package_env(self.platform, name, str(version), root=name in self.roots, flags=self.flags)
        available = pkg.available(env)
        depends = pkg.depends_formula().resolve(env) if available else None
        cenv = conflicts_env(self.platform, name, str(version))
        conflicts = tuple(atoms_of(pkg.conflicts_formula().resolve(cenv))) if available else ()
        avoided = pkg.avoid or (self._avoid is not None and self._avoid(pkg))
        return PkgInfo(name, version, pkg, available, depends, conflicts, pkg.conflict_class, avoided)

    def _load(self, start: Iterable[str]) -> None:
        """Read every version reachable from the request through ``depends`` (any branch)."""
        queue = list(start)
        while queue:
            name = queue.pop()
            if name in self.by_name:
                continue
            if name not in self.universe:
                self.by_name[name] = []
                continue
            infos = [self._info(name, v) for v in sorted(self.universe.versions(name), reverse=True)]
            self.by_name[name] = infos
            root_atoms = self.roots.get(name, ())
            for i in infos:
                if i.available and all(a.matches(i.version) for a in root_atoms):
                    queue.extend(a.name for a in atoms_of(i.depends) if a.name not in self.by_name)

    # -- static questions -----------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        return bool(self.by_name.get(name))

    def branch_ok(self, f: Resolved, *, good: bool = False) -> bool:
        """Can this ``|`` branch hold at all (or with good versions only)?"""
        return holds(f, "", None, self.good if good else self._live_set, self.match)

    def viable_branches(self, f: Or) -> list[tuple[int, Resolved]]:
        return [(k, b) for k, b in enumerate(f.items) if self.branch_ok(b)]

    # -- what resolvelib asks -----------------------------------------------------------------

    def root_requirements(self) -> list[Requirement]:
        return [Need(a) for atoms in self.roots.values() for a in atoms]

    def _formula_requirements(self, f: Resolved | None, owner: str) -> list[Requirement]:
        out: list[Requirement] = []
        for part in conjuncts(f):
            if isinstance(part, Atom):
                out.append(Need(part))
            elif isinstance(part, Or):
                viable = self.viable_branches(part)
                if len(viable) == 1:  # the others can never hold: no decision to make
                    out.extend(self._formula_requirements(viable[0][1], owner))
                else:
                    req = choose(part)
                    self.or_formulas.setdefault(req.key, part)
                    owners = self.or_owners.setdefault(req.key, [])
                    if owner and owner not in owners:
                        owners.append(owner)
                    out.append(req)
            else:  # pragma: no cover - conjuncts() flattens And
                out.extend(self._formula_requirements(part, owner))
        return out

    def dependencies(self, cand: Candidate) -> list[Requirement]:
        if isinstance(cand, PkgCandidate):
            info = cand.info
            out = self._formula_requirements(info.depends, info.nv)
            for a in info.conflicts:
                if a.name != info.name and any(a.matches(v.version) for v in self.live.get(a.name, ())):
                    out.append(Forbid(a.name, a.vf))
            for cls in info.classes:
                out.append(Member(cls, info.name))
            return out
        if isinstance(cand, Branch):
            owners = self.or_owners.get(cand.key, [])
            return self._formula_requirements(cand.formula, owners[0] if owners else "")
        return []

    def matches(
        self, key: str, reqs: Sequence[Requirement], incompatible: Iterable[Candidate]
    ) -> Sequence[Candidate]:
        """Candidates of ``key`` satisfying every requirement, most preferred first."""
        bad = set(incompatible)
        if key.startswith("|"):
            return self._branch_matches(key, reqs, bad)
        if key.startswith("@"):
            members = {r.member for r in reqs if isinstance(r, Member)}
            if len(members) != 1:
                return []
            pick = ClassPick(key[1:], members.pop())
            return [] if pick in bad else [pick]
        return self._package_matches(key, reqs, bad)

    def _branch_matches(self, key: str, reqs: Sequence[Requirement], bad: set[Candidate]) -> PinOrdered:
        formula = next((r.formula for r in reqs if isinstance(r, Choose)), None) or self.or_formulas[key]
        viable: list[Candidate] = [Branch(key, k, b) for k, b in self.viable_branches(formula)]
        viable = [b for b in viable if b not in bad]
        ranks = [(not self.branch_ok(b.formula, good=True) or not self.good_compat.formula(b.formula),)
                 for b in viable if isinstance(b, Branch)]
        return PinOrdered([], viable, ranks, self._fit)

    def _package_matches(
        self, name: str, reqs: Sequence[Requirement], bad: set[Candidate]
    ) -> PinOrdered:
        head: list[Candidate] = []
        only_conflicts = all(isinstance(r, Forbid) for r in reqs)
        if only_conflicts and Absent(name) not in bad:
            head.append(Absent(name))
        allowed: set[PkgInfo] | None = None
        for r in reqs:
            if isinstance(r, Need):
                m = set(self.match(r.atom))
                allowed = m if allowed is None else allowed & m
            elif isinstance(r, Forbid):
                m = set(self.match(Atom(r.name, r.vf)))
                allowed = (set(self.live.get(name, ())) if allowed is None else allowed) - m
        found: list[Candidate] = []
        for i in self.live.get(name, ()):
            if allowed is None or i in allowed:
                c = PkgCandidate(i, name, i.version)
                if c not in bad:
                    found.append(c)
        locked = self.locked.get(name)
        ranks = [(c.version != locked, not self.good_compat.mask(c.info))
                 for c in found if isinstance(c, PkgCandidate)]
        return PinOrdered(head, found, ranks, self._fit)

    # -- consistency with the current pins (an ordering hint only) ----------------------------

    def note_pins(self, pins: Mapping[str, Candidate]) -> None:
        self.pins = pins

    def _pinned_version(self, name: str) -> OpamVersion | None:
        c = self.pins.get(name)
        return c.version if isinstance(c, PkgCandidate) else None

    def _fit(self) -> Callable[[Candidate], tuple[bool, bool]]:
        """The pin-dependent part of the order, for the current pins: (inconsistent, no good fit)."""
        mask = self._good_mask()

        def key(c: Candidate) -> tuple[bool, bool]:
            return (not self._consistent_candidate(c), not self._good_fit(c, mask))
        return key

    def _good_mask(self) -> int:
        """The compilers the pinned compiler and roots can all have with good versions only.

        The pinned compiler first, then the roots in request order; a pin that would leave no
        compiler at all (say, an avoided version the request asks for) is skipped, so that the
        mask keeps ordering the rest. All-ones when nothing relevant is pinned.
        """
        mask = self.compat.all
        for name in (PIVOT, *self.roots):
            c = self.pins.get(name)
            if isinstance(c, PkgCandidate):
                m = mask & self.good_compat.mask(c.info)
                if m:
                    mask = m
        return mask

    def _good_fit(self, c: Candidate, mask: int) -> bool:
        if isinstance(c, PkgCandidate):
            return bool(self.good_compat.mask(c.info) & mask)
        if isinstance(c, Branch):
            return bool(self.good_compat.formula(c.formula) & mask)
        return True

    def _consistent_candidate(self, c: Candidate) -> bool:
        pivot = self.pins.get(PIVOT)
        if isinstance(c, PkgCandidate):
            if isinstance(pivot, PkgCandidate) and not self.compat.allows(c.info, pivot.info):
                return False
            return self._consistent(c.info)
        if isinstance(c, Branch):
            if isinstance(pivot, PkgCandidate) and not self.compat.formula_allows(c.formula, pivot.info):
                return False
            return self._pinned_ok(c.formula)
        return True

    def _consistent(self, info: PkgInfo) -> bool:
        if not self.pins:
            return True
        for part in conjuncts(info.depends):
            if isinstance(part, Atom):
                v = self._pinned_version(part.name)
                if v is not None and not part.matches(v):
                    return False
        for a in info.conflicts:
            v = self._pinned_version(a.name)
            if v is not None and a.matches(v):
                return False
        return True

    def _pinned_ok(self, f: Resolved) -> bool:
        """Is no atom of this branch contradicted by a current pin?"""
        for a in atoms_of(f):
            v = self._pinned_version(a.name)
            if v is not None and not a.matches(v):
                return False
        return True

    # -- after the search ---------------------------------------------------------------------

    def closure(self, chosen: Mapping[str, PkgInfo]) -> dict[str, PkgInfo]:
        """The chosen versions reachable from the roots (first satisfied branch of each ``|``)."""
        out: dict[str, PkgInfo] = {}
        stack = list(reversed(self.roots))
        while stack:
            name = stack.pop()
            if name in out:
                continue
            out[name] = info = chosen[name]
            stack.extend(a.name for a in _followed_atoms(info.depends, chosen))
        return out

    def edges(self, info: PkgInfo, chosen: Mapping[str, PkgInfo]) -> tuple[Atom, ...]:
        """Every conjunct atom, and the atoms of each satisfied ``|`` branch."""
        return tuple(_satisfied_atoms(info.depends, chosen))


def _sat(f: Resolved, chosen: Mapping[str, PkgInfo]) -> bool:
    if isinstance(f, Atom):
        c = chosen.get(f.name)
        return c is not None and f.matches(c.version)
    if isinstance(f, And):
        return all(_sat(x, chosen) for x in f.items)
    return any(_sat(x, chosen) for x in f.items)


def _followed_atoms(f: Resolved | None, chosen: Mapping[str, PkgInfo]) -> list[Atom]:
    if f is None:
        return []
    if isinstance(f, Atom):
        return [f]
    if isinstance(f, And):
        return [a for x in f.items for a in _followed_atoms(x, chosen)]
    first = next(x for x in f.items if _sat(x, chosen))
    return _followed_atoms(first, chosen)


def _satisfied_atoms(f: Resolved | None, chosen: Mapping[str, PkgInfo]) -> list[Atom]:
    if f is None:
        return []
    if isinstance(f, Atom):
        return [f]
    if isinstance(f, And):
        return [a for x in f.items for a in _satisfied_atoms(x, chosen)]
    return [a for x in f.items if _sat(x, chosen) for a in _satisfied_atoms(x, chosen)]

