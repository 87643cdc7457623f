"""Static Mirage audit of package versions: a fixpoint over the dependency graph, not a solve each.

For a target, every package version gets one of three verdicts:

* **incompatible**: it is Unix-bound itself (:func:`~opamlock.mirage.classify.self_markers`), or
  some runtime conjunct has *every* candidate incompatible (every version satisfying the
  constraint, every ``|`` branch). This is a least fixpoint, so each verdict has a finite proof,
  kept as a pointer to the dependency that caused it: the explaining chain.
* **unknown**: not incompatible, but some runtime conjunct has no candidate that is not
  incompatible or unknown (a dependency missing from the repositories, or unavailable on the
  target). Again a least fixpoint, computed after the first.
* **compatible**: everything else. Those packages form a set in which each member has, for each
  conjunct, a candidate in the set: a choice of compatible candidates exists (cycles included).

Version constraints between siblings are not intersected (that would be a solve), so
"compatible" means "a compatible choice exists per edge"; the lock check then judges the real set.
The work is demand-driven: a verdict computes only the closure it needs, and closures computed
once stay final, because a closure is complete when it is computed.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias

from opamlock.formula import Atom
from opamlock.mirage.classify import (
    Dep,
    MarkerLeaf,
    RAnd,
    RNode,
    builds_with_dune,
    monorepo_warnings,
    runtime_formula,
    self_markers,
    target_env,
)
from opamlock.mirage.rules import Rules, default_rules
from opamlock.package import Package
from opamlock.version import OpamVersion

__all__ = ["Auditor", "UniverseLike", "Verdict", "VerdictKind", "avoid_predicate"]

VerdictKind = Literal["compatible", "incompatible", "unknown"]


class UniverseLike(Protocol):
    """What the audit needs of ``opamlock.repository.Universe``."""

    def names(self) -> Iterable[str]: ...

    def versions(self, name: str) -> Sequence[OpamVersion]: ...

    def package(self, name: str, version: OpamVersion) -> Package: ...


@dataclass(frozen=True)
class Verdict:
    """One package version's verdict, with the chain that explains it (``name.version`` each)."""

    name: str
    version: str
    verdict: VerdictKind
    chain: tuple[str, ...] = ()
    marker: str = ""
    sibling: str | None = None
    inherited_by: int = 0
    warnings: tuple[str, ...] = field(default=())
    repository: str = ""

    @property
    def nv(self) -> str:
        return f"{self.name}.{self.version}"

    def explain(self) -> str:
        """``a.1 → b.2 → c.3: depends on base-unix``; empty for a compatible package."""
        if self.verdict == "compatible":
            return ""
        return " → ".join(self.chain) + (f": {self.marker}" if self.marker else "")


# Compiled runtime formulas over package ids. Leaves: ("dep", text, candidate ids) and
# ("mark", marker); inner nodes ("and"|"or", children).
_C: TypeAlias = tuple[object, ...]

_NEW, _PENDING, _INCOMPAT, _UNKNOWN, _COMPAT = 0, 1, 2, 3, 4
_KIND: dict[int, VerdictKind] = {_INCOMPAT: "incompatible", _UNKNOWN: "unknown", _COMPAT: "compatible"}

# A reason: ("marker", Marker) | ("self", tuple[Marker, ...]) | ("dep", text, id) | ("missing", text)
_Reason: TypeAlias = tuple[object, ...]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for a bulk of audit work (re-entrant).

    An audit allocates millions of small acyclic objects (trees, formulas, verdicts) while
    thousands of decoded packages stay alive; the collector's repeated passes over that live heap
    cost about three times the audit itself (measured on ``audit --all``: 5.9 s against 1.6 s).

    On the way out, what the pause left in the young generation is moved to the oldest one
    (``freeze`` then ``unfreeze``: two list splices, no traversal). Otherwise the next collections
    walk all of it, young then middle then old, which cost ``audit --all --format json`` 3 s of
    its 5 s after the audit itself was done. Nothing stays frozen: the objects are collectable as
    any old object is.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()


class Auditor:
    """Verdicts for package versions of one universe on one Mirage target."""

    def __init__(self, universe: UniverseLike, *, target: str = "hvt", rules: Rules | None = None) -> None:
        self.universe = universe
        self.rules = rules or default_rules()
        self.target = target
        self.platform = self.rules.target_platform(target)
        self._names = frozenset(universe.names())
        self._pkgs: list[Package] = []
        self._ids: dict[tuple[str, OpamVersion], int] = {}
        self._state: list[int] = []
        self._formula: list[_C | None] = []
        self._reason: list[_Reason | None] = []
        self._rdeps: list[list[int]] = []
        self._avail: dict[str, list[int]] = {}
        self._cands: dict[tuple[str, object], tuple[int, ...]] = {}
        self._available: list[bool] = []
        self._tagged: dict[str, bool] = {}

    # -- ids ----------------------------------------------------------------------------------

    def _id(self, name: str, version: OpamVersion) -> int:
        key = (name, version)
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self._pkgs)
            self._pkgs.append(self.universe.package(name, version))
            self._state.append(_NEW)
            self._formula.append(None)
            self._reason.append(None)
            self._rdeps.append([])
            self._available.append(True)
        return i

    def _versions_available(self, name: str) -> list[int]:
        ids = self._avail.get(name)
        if ids is None:
            ids = []
            if name in self._names:
                for v in self.universe.versions(name):
                    i = self._id(name, v)
                    pkg = self._pkgs[i]
                    ok = pkg.available(target_env(self.platform, pkg))
                    self._available[i] = ok
                    if ok:
                        ids.append(i)
            self._avail[name] = ids
        return ids

    def _candidates(self, atom: Atom) -> tuple[int, ...]:
        key = (atom.name, atom.vf)
        c = self._cands.get(key)
        if c is None:
            c = tuple(i for i in self._versions_available(atom.name) if atom.matches(self._pkgs[i].version))
            self._cands[key] = c
        return c

    def _compile(self, n: RNode) -> _C:
        if isinstance(n, Dep):
            return ("dep", str(n.atom), self._candidates(n.atom))
        if isinstance(n, MarkerLeaf):
            return ("mark", n.marker)
        return ("and" if isinstance(n, RAnd) else "or", tuple(self._compile(i) for i in n.items))

    # -- the fixpoint -------------------------------------------------------------------------

    def _closure(self, roots: Iterable[int]) -> list[int]:
        """Compile every not-yet-judged package reachable from ``roots``; return them."""
        new: list[int] = []
        stack = [r for r in roots if self._state[r] == _NEW]
        while stack:
            i = stack.pop()
            if self._state[i] != _NEW:
                continue
            self._state[i] = _PENDING
            new.append(i)
            pkg = self._pkgs[i]
            node = runtime_formula(pkg, self.platform, self.rules)
            c = self._compile(node) if node is not None else None
            self._formula[i] = c
            for dep in _deps(c):
                self._rdeps[dep].append(i)
                if self._state[dep] == _NEW:
                    stack.append(dep)
        return new

    def _eval_incompat(self, c: _C) -> _Reason | None:
        tag = c[0]
        if tag == "mark":
            return ("marker", c[1])
        if tag == "dep":
            cands = c[2]
            assert isinstance(cands, tuple)
            if cands and all(self._state[j] == _INCOMPAT for j in cands):
                return ("dep", c[1], cands[-1])
            return None
        kids = c[1]
        assert isinstance(kids, tuple)
        if tag == "and":
            for k in kids:
                r = self._eval_incompat(k)
                if r is not None:
                    return r
            return None
        first: _Reason | None = None
        for k in kids:
            r = self._eval_incompat(k)
            if r is None:
                return None
            first = first or r
        return first

    def _eval_unknown(self, c: _C) -> _Reason | None:
        """Some conjunct has no candidate that is neither incompatible nor unknown."""
        tag = c[0]
        if tag == "mark":
            return ("marker", c[1])
        if tag == "dep":
            cands = c[2]
            assert isinstance(cands, tuple)
            if not cands:
                return ("missing", c[1])
            if all(self._state[j] in (_INCOMPAT, _UNKNOWN) for j in cands):
                unknown = [j for j in cands if self._state[j] == _UNKNOWN]
                return ("dep", c[1], (unknown or list(cands))[-1])
            return None
        kids = c[1]
        assert isinstance(kids, tuple)
        if tag == "and":
            for k in kids:
                r = self._eval_unknown(k)
                if r is not None and r[0] != "marker":
                    return r
            return None
        reasons = []
        for k in kids:
            r = self._eval_unknown(k)
            if r is None:
                return None
            reasons.append(r)
        return next((r for r in reasons if r[0] != "marker"), reasons[0])

    def _solve(self, new: list[int]) -> None:
        # Phase 1: incompatible (least fixpoint, propagated along reverse edges).
        work = deque(new)
        while work:
            i = work.popleft()
            if self._state[i] != _PENDING:
                continue
            pkg = self._pkgs[i]
            own = self_markers(pkg.name, pkg.depexts(target_env(self.platform, pkg)), self.rules)
            r: _Reason | None = ("self", own) if own else None
            if r is None and self._formula[i] is not None:
                r = self._eval_incompat(self._formula[i])  # type: ignore[arg-type]
            if r is not None:
                self._state[i] = _INCOMPAT
                self._reason[i] = r
                work.extend(p for p in self._rdeps[i] if self._state[p] == _PENDING)
        # Phase 2: unknown, among the rest.
        work = deque(new)
        while work:
            i = work.popleft()
            if self._state[i] != _PENDING:
                continue
            c = self._formula[i]
            r = self._eval_unknown(c) if c is not None else None
            if r is not None:
                self._state[i] = _UNKNOWN
                self._reason[i] = r
                work.extend(p for p in self._rdeps[i] if self._state[p] == _PENDING)
        # Phase 3: what is left has a compatible choice for every conjunct.
        for i in new:
            if self._state[i] == _PENDING:
                self._state[i] = _COMPAT

    def _ensure(self, ids: Iterable[int]) -> None:
        with _gc_paused():
            new = self._closure(ids)
            if new:
                self._solve(new)

    # -- public -------------------------------------------------------------------------------

    def state(self, name: str, version: OpamVersion) -> VerdictKind:
        i = self._id(name, version)
        self._versions_available(name)
        self._ensure([i])
        return _KIND[self._state[i]]

    def is_incompatible(self, pkg: Package) -> bool:
        if (pkg.name, pkg.version) not in self._ids and pkg.name not in self._names:
            return False
        return self.state(pkg.name, pkg.version) == "incompatible"

    def newest(self, name: str) -> OpamVersion | None:
        vs = list(self.universe.versions(name)) if name in self._names else []
        return vs[-1] if vs else None

    def _reason_for_display(self, i: int, seen: set[int]) -> _Reason | None:
        """A package Unix-bound by its name alone is better explained by what it links, if that
        is Unix-bound too (``mirage-block-unix → cstruct-lwt: depends on base-unix``)."""
        r = self._reason[i]
        if r is None or r[0] != "self":
            return r
        markers = r[1]
        assert isinstance(markers, tuple)
        if any(m.kind != "name" for m in markers) or self._formula[i] is None:
            return r
        alt = self._eval_incompat(self._formula[i])  # type: ignore[arg-type]
        if alt is None or (alt[0] == "dep" and alt[2] in seen):
            return r
        return alt

    def _chain(self, i: int) -> tuple[tuple[str, ...], str]:
        chain = [self._pkgs[i].nv]
        seen = {i}
        while True:
            r = self._reason_for_display(i, seen)
            if r is None:
                return tuple(chain), ""
            tag = r[0]
            if tag == "self":
                markers = r[1]
                assert isinstance(markers, tuple)
                return tuple(chain), "; ".join(str(m) for m in markers)
            if tag == "marker":
                return tuple(chain), str(r[1])
            if tag == "missing":
                return tuple(chain), f"no version of {r[1]} is available on the target"
            j = r[2]
            assert isinstance(j, int)
            if j in seen:  # cannot happen for a least fixpoint; guard against a bug looping
                return tuple(chain), "cycle"
            seen.add(j)
            chain.append(self._pkgs[j].nv)
            i = j

    def verdict(self, name: str, version: OpamVersion | None = None) -> Verdict:
        """The verdict for ``name.version`` (default: the newest version)."""
        if version is None:
            version = self.newest(name)
            if version is None:
                return Verdict(name, "", "unknown", (name,), "no such package in the repositories")
        i = self._id(name, version)
        self._versions_available(name)
        self._ensure([i])
        kind = _KIND[self._state[i]]
        pkg = self._pkgs[i]
        chain, marker = self._chain(i) if kind != "compatible" else ((), "")
        if kind == "compatible" and not self._available[i]:
            # Nothing in it needs Unix, but the target cannot install it.
            kind, chain, marker = "unknown", (pkg.nv,), "not available on the target platform"
        culprit = chain[-1].split(".", 1)[0] if chain else name
        sibling = self._portable_sibling(name) or self._portable_sibling(culprit)
        warns = tuple(monorepo_warnings(pkg, self.platform, tag_required=self._tag_required(name)))
        return Verdict(name, str(version), kind, chain, marker, sibling, 0, warns, pkg.repository)

    def _portable_sibling(self, name: str) -> str | None:
        """The rules' sibling, unless this universe finds it incompatible too."""
        sib = self.rules.sibling(name)
        if sib is None:
            return None
        newest = self.newest(sib)
        if newest is None or self.state(sib, newest) == "incompatible":
            return None
        return sib

    def _tag_required(self, name: str) -> bool:
        from opamlock.mirage.classify import has_cross_compile_tag

        t = self._tagged.get(name)
        if t is None:
            t = any(
                has_cross_compile_tag(self.universe.package(name, v)) for v in self.universe.versions(name)
            )
            self._tagged[name] = t
        return t

    def audit(self, names: Iterable[tuple[str, OpamVersion | None]] | None = None) -> list[Verdict]:
        """Verdicts for the given packages, or for the newest version of every package.

        ``inherited_by`` counts the packages (newest versions) whose own chain passes through an
        incompatible package: the reverse dependencies that inherit its problem. It is counted
        over the whole universe, so it is the same whichever packages are asked for.
        """
        with _gc_paused():
            return self._audit(names)

    def _audit(self, names: Iterable[tuple[str, OpamVersion | None]] | None) -> list[Verdict]:
        everything = [(n, self.newest(n)) for n in sorted(self._names)]
        everything = [(n, v) for n, v in everything if v is not None]
        all_verdicts = {v.nv: v for v in (self.verdict(n, ver) for n, ver in everything)}
        inherit: dict[str, int] = {}
        for v in all_verdicts.values():
            if v.verdict != "incompatible":
                continue
            for nv in set(v.chain[1:]):
                inherit[nv] = inherit.get(nv, 0) + 1
        wanted = everything if names is None else list(names)
        out: list[Verdict] = []
        for n, ver in wanted:
            v = self.verdict(n, ver)
            if v.verdict == "incompatible":
                v = _with_inherit(v, inherit.get(v.nv, 0))
            out.append(v)
        return out


def _with_inherit(v: Verdict, n: int) -> Verdict:
    return Verdict(v.name, v.version, v.verdict, v.chain, v.marker, v.sibling, n, v.warnings, v.repository)


def _deps(c: _C | None) -> list[int]:
    if c is None:
        return []
    if c[0] == "dep":
        cands = c[2]
        assert isinstance(cands, tuple)
        return list(cands)
    if c[0] == "mark":
        return []
    out: list[int] = []
    kids = c[1]
    assert isinstance(kids, tuple)
    for k in kids:
        out.extend(_deps(k))
    return out


def avoid_predicate(
    universe: UniverseLike, target: str = "hvt", rules: Rules | None = None, *, prefer_dune: bool = True
) -> Callable[[Package], bool]:
    """For ``solve(..., avoid=...)``: true for candidates a unikernel should not get.

    The solver uses avoided candidates only when nothing else works, so zarith's
    ``"gmp" | "conf-gmp"`` takes ``gmp`` and an overlay port beats an upstream release that
    needs a system library. With ``prefer_dune``, releases that do not build with dune are
    avoided too, since opam-monorepo cannot vendor them (``mtime.2.1.0+dune`` over the topkg
    ``mtime.2.2.0``). Host build tools and compiler packages are never avoided: they are not linked.
    """
    auditor = Auditor(universe, target=target, rules=rules)
    r = auditor.rules

    def avoid(pkg: Package) -> bool:
        # base-unix/base-threads are what the compiler and host tools install; the packages that
        # *link* them are the ones avoided.
        if r.ignores_target(pkg.name) or pkg.name in r.unix_markers:
            return False
        if prefer_dune and pkg.url is not None and not builds_with_dune(pkg, auditor.platform):
            return True
        return auditor.is_incompatible(pkg)

    return avoid
