"""Static, sound pruning: rule out package versions that can be in no solution, before searching.

resolvelib has no clause learning. Left alone on a real repository it walks through newest-first
candidates that fail deep in the tree (20,000 rounds on ``ocaml-base-compiler.4.14.2 core``). Most
of that work is decidable up front, by a greatest fixpoint over the versions reachable from the
request:

* an unavailable version, or a root version outside the request's constraints, is out;
* a version whose ``depends`` cannot hold with the versions still in is out (an atom holds when some
  remaining version of its name matches; a ``|`` when one branch holds);
* a *forced* name is in every solution: the requested names, and any name that every remaining
  version of a forced name requires at top level. A forced name's versions are narrowed to those
  some remaining version of its forcer accepts (this is how a pinned compiler narrows ``ocaml``,
  which in turn rules out everything built for other compilers);
* a version that conflicts with every remaining version of a forced name is out, in both directions,
  and so is a version sharing a conflict class with a forced name.

Every rule only removes versions that cannot appear in any solution, so pruning never loses one.
Each removed version records why (:data:`Reason`), which is what turns "impossible" into a chain a
user can read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from opamlock.formula import And, Atom, Resolved, VersionFormula, vmatch
from opamlock.solver.candidates import PkgInfo

__all__ = [
    "Clash",
    "Excluded",
    "NotRequested",
    "Reason",
    "Restricted",
    "Unavailable",
    "Unsatisfiable",
    "conjuncts",
    "holds",
    "prune",
    "sat_fixpoint",
]


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The ``available`` field is false (or undefined) on this platform."""


@dataclass(frozen=True, slots=True)
class Excluded:
    """The caller excluded this version (a re-solve without the avoided versions of a first solution)."""


@dataclass(frozen=True, slots=True)
class NotRequested:
    """The request constrains this root to other versions."""

    atom: Atom


@dataclass(frozen=True, slots=True)
class Unsatisfiable:
    """This part of ``depends`` (an atom or a ``|``) cannot hold with the versions still possible."""

    need: Resolved


@dataclass(frozen=True, slots=True)
class Restricted:
    """``by`` is in every solution and each of its possible versions constrains this name elsewhere."""

    by: str
    example: str
    atom: Atom


@dataclass(frozen=True, slots=True)
class Clash:
    """Conflicts (``atom``) or shares a conflict class (``cls``) with ``other``, which every solution has."""

    other: str
    example: str
    atom: Atom | None = None
    cls: str | None = None


Reason = Unavailable | Excluded | NotRequested | Unsatisfiable | Restricted | Clash


def conjuncts(f: Resolved | None) -> tuple[Resolved, ...]:
    if f is None:
        return ()
    if isinstance(f, And):
        return f.items
    return (f,)


class Matcher:
    """Which versions of a name match a version formula, computed once per (name, formula).

    The same few hundred atoms are tested again and again during pruning and search; evaluating
    version formulas was most of a solve's time before this cache.
    """

    def __init__(self, by_name: Mapping[str, Sequence[PkgInfo]]) -> None:
        self.by_name = by_name
        self._cache: dict[tuple[str, VersionFormula], tuple[PkgInfo, ...]] = {}

    def __call__(self, atom: Atom) -> tuple[PkgInfo, ...]:
        key = (atom.name, atom.vf)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = tuple(
                i for i in self.by_name.get(atom.name, ()) if vmatch(atom.vf, i.version))
        return found


def holds(f: Resolved | None, name: str, version: object, alive: set[PkgInfo], match: Matcher) -> bool:
    """Can ``f`` (a ``depends`` of ``name.version``) hold using only versions in ``alive``?"""
    if f is None:
        return True
    if isinstance(f, Atom):
        if f.name == name:  # one version per name: a self-atom is about this very version
            return f.matches(version)  # type: ignore[arg-type]
        return any(i in alive for i in match(f))
    if isinstance(f, And):
        return all(holds(x, name, version, alive, match) for x in f.items)
    return any(holds(x, name, version, alive, match) for x in f.items)


def _failing_part(i: PkgInfo, alive: set[PkgInfo], match: Matcher) -> Resolved | None:
    for part in conjuncts(i.depends):
        if not holds(part, i.name, i.version, alive, match):
            return part
    return None


def dependents_index(by_name: Mapping[str, Sequence[PkgInfo]]) -> dict[str, list[PkgInfo]]:
    """name → the versions whose ``depends`` mention it (whose status may change with it)."""
    from opamlock.formula import atoms_of

    out: dict[str, list[PkgInfo]] = {}
    for infos in by_name.values():
        for i in infos:
            for n in {a.name for a in atoms_of(i.depends)}:
                out.setdefault(n, []).append(i)
    return out


def sat_fixpoint(
    by_name: Mapping[str, Sequence[PkgInfo]],
    alive: set[PkgInfo],
    dependents: Mapping[str, Sequence[PkgInfo]],
    match: Matcher,
    *,
    check: Iterable[PkgInfo] | None = None,
    record: bool = False,
) -> bool:
    """Remove from ``alive`` every version whose ``depends`` cannot hold; True if any was removed.

    ``check`` limits the first pass (the versions whose inputs changed); ``record`` stores the
    reason on each removed version.
    """
    work = [i for infos in by_name.values() for i in infos if i in alive] if check is None else list(check)
    changed = False
    while work:
        touched: set[str] = set()
        for i in work:
            if i not in alive:
                continue
            part = _failing_part(i, alive, match)
            if part is not None:
                alive.discard(i)
                if record:
                    i.dead = Unsatisfiable(part)
                touched.add(i.name)
                changed = True
        work = [d for n in sorted(touched) for d in dependents.get(n, ()) if d in alive]
    return changed


def _top_atoms(i: PkgInfo) -> list[Atom]:
    return [p for p in conjuncts(i.depends) if isinstance(p, Atom)]


def prune(
    by_name: Mapping[str, Sequence[PkgInfo]], roots: Mapping[str, Sequence[Atom]], match: Matcher
) -> set[str]:
    """Mark every version that can be in no solution (``PkgInfo.dead``); return the forced names."""
    alive: set[PkgInfo] = set()
    for name, infos in by_name.items():
        for i in infos:
            if i.dead is not None:  # excluded by the caller
                continue
            if not i.available:
                i.dead = Unavailable()
                continue
            bad = next((a for a in roots.get(name, ()) if not a.matches(i.version)), None)
            if bad is not None:
                i.dead = NotRequested(bad)
                continue
            alive.add(i)
    dependents = dependents_index(by_name)
    conflict_index: dict[str, list[PkgInfo]] = {}
    class_index: dict[str, list[PkgInfo]] = {}
    for infos in by_name.values():
        for i in infos:
            for n in {a.name for a in i.conflicts}:
                conflict_index.setdefault(n, []).append(i)
            for c in i.classes:
                class_index.setdefault(c, []).append(i)

    def kill(i: PkgInfo, why: Reason) -> None:
        alive.discard(i)
        i.dead = why

    def live(name: str) -> list[PkgInfo]:
        return [i for i in by_name.get(name, ()) if i in alive]

    sat_fixpoint(by_name, alive, dependents, match, record=True)
    forced: set[str] = set(roots)
    while True:
        before = len(alive)
        # Forced names, and the versions their forcers accept.
        queue = list(forced)
        seen: set[str] = set()
        while queue:
            y = queue.pop()
            if y in seen:
                continue
            seen.add(y)
            ly = live(y)
            if not ly:
                continue
            per_cand = [_top_atoms(c) for c in ly]
            common = set.intersection(*({a.name for a in atoms} for atoms in per_cand)) - {y}
            for x in sorted(common):
                forced.add(x)
                queue.append(x)
                lx = live(x)
                accepted = {
                    id(v) for c, atoms in zip(ly, per_cand, strict=True) for v in lx
                    if all(a.matches(v.version) for a in atoms if a.name == x)
                }
                ex = ly[0]
                ex_atom = next(a for a in per_cand[0] if a.name == x)
                for v in lx:
                    if id(v) not in accepted:
                        kill(v, Restricted(y, ex.nv, ex_atom))
        # Conflicts and conflict classes against forced names, both directions.
        for x in sorted(forced):
            lx = live(x)
            if not lx:
                continue
            for i in conflict_index.get(x, ()):
                if i in alive and i.name != x:
                    hits = (a for a in i.conflicts if a.name == x and all(a.matches(v.version) for v in lx))
                    a = next(hits, None)
                    if a is not None:
                        kill(i, Clash(x, lx[0].nv, atom=a))
            for cls in sorted(set.intersection(*(set(c.classes) for c in lx))):
                for i in class_index.get(cls, ()):
                    if i in alive and i.name != x:
                        kill(i, Clash(x, lx[0].nv, cls=cls))
            # Every possible x forbids these versions of other names.
            names = set.intersection(*({a.name for a in c.conflicts} for c in lx)) - {x}
            for n in sorted(names):
                for v in live(n):
                    hit = [next((a for a in c.conflicts if a.name == n and a.matches(v.version)), None)
                           for c in lx]
                    if all(h is not None for h in hit):
                        kill(v, Clash(x, lx[0].nv, atom=hit[0]))
        sat_fixpoint(by_name, alive, dependents, match, record=True)
        if len(alive) == before:
            return forced
