"""An independent check of a solution: every constraint of every chosen package, re-read from scratch.

This module deliberately shares no code with the solver (it does not import ``opamlock.solver``):
it re-evaluates each chosen package's opam formulas against the platform and checks them against
the chosen set directly. A solver bug therefore cannot hide itself by being repeated here. Tests
run it on every solution.

Checked, as opam defines them:

* the request: every requested atom is installed at a matching version;
* one version per name, each one really in the universe and ``available`` on the platform;
* ``depends``: the formula (filters evaluated, ``build``/``post`` true, test/doc flags for
  requested names only) holds over the chosen set;
* ``conflicts``: no atom matches a chosen package;
* ``conflict-class``: no two chosen names share a class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from opamlock.env import PlatformVars, SolveFlags, conflicts_env, package_env
from opamlock.formula import And, Atom, Or, Resolved, atoms_of
from opamlock.package import Package
from opamlock.version import OpamVersion

if TYPE_CHECKING:
    from opamlock.solver.solution import Solution

__all__ = ["Violation", "validate", "validate_packages"]

_NO_FLAGS = SolveFlags()


class _Universe(Protocol):
    def __contains__(self, name: object) -> bool: ...

    def versions(self, name: str) -> Sequence[OpamVersion]: ...

    def package(self, name: str, version: OpamVersion) -> Package: ...


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken constraint: which package (or ``<request>``) and what."""

    package: str
    message: str

    def __str__(self) -> str:
        return f"{self.package}: {self.message}"


def _holds(f: Resolved | None, chosen: Mapping[str, OpamVersion]) -> bool:
    if f is None:
        return True
    if isinstance(f, Atom):
        v = chosen.get(f.name)
        return v is not None and f.matches(v)
    if isinstance(f, And):
        return all(_holds(x, chosen) for x in f.items)
    assert isinstance(f, Or)
    return any(_holds(x, chosen) for x in f.items)


def validate_packages(
    universe: _Universe,
    packages: Mapping[str, Package],
    request: Sequence[Atom],
    *,
    platform: PlatformVars,
    flags: SolveFlags = _NO_FLAGS,
) -> list[Violation]:
    """Every violated constraint of ``packages`` (name → chosen package); empty when valid."""
    out: list[Violation] = []
    chosen: dict[str, OpamVersion] = {}
    for key, pkg in packages.items():
        if pkg.name != key:
            out.append(Violation(key, f"recorded under the wrong name ({pkg.nv})"))
        chosen[pkg.name] = pkg.version
    roots = {a.name for a in request}
    for a in request:
        v = chosen.get(a.name)
        if v is None:
            out.append(Violation("<request>", f"{a} is requested but {a.name} is not installed"))
        elif not a.matches(v):
            out.append(Violation("<request>", f"{a} is requested but {a.name}.{v} is chosen"))
    classes: dict[str, list[str]] = {}
    for name in sorted(packages):
        chosen_pkg = packages[name]
        version = chosen_pkg.version
        if name not in universe or version not in set(universe.versions(name)):
            out.append(Violation(chosen_pkg.nv, "not in the universe"))
            continue
        pkg = universe.package(name, version)  # read it afresh, not the solver's object
        env = package_env(platform, name, str(version), root=name in roots, flags=flags)
        if not pkg.available(env):
            out.append(Violation(pkg.nv, "not available on this platform"))
        deps = pkg.depends_formula().resolve(env)
        if not _holds(deps, chosen):
            missing = [str(a) for a in atoms_of(deps) if not _holds(a, chosen)]
            out.append(Violation(pkg.nv, f"depends does not hold ({deps}); unmet: {', '.join(missing)}"))
        for a in atoms_of(pkg.conflicts_formula().resolve(conflicts_env(platform, name, str(version)))):
            v = chosen.get(a.name)
            if a.name != name and v is not None and a.matches(v):
                out.append(Violation(pkg.nv, f"conflicts with {a}, but {a.name}.{v} is chosen"))
        for cls in pkg.conflict_class:
            classes.setdefault(cls, []).append(name)
    for cls, members in sorted(classes.items()):
        if len(set(members)) > 1:
            out.append(Violation(", ".join(sorted(members)), f"share conflict-class {cls}"))
    return out


def validate(universe: _Universe, solution: Solution) -> list[Violation]:
    """Every violated constraint of a :class:`Solution`, evaluated for its own platform and flags."""
    return validate_packages(
        universe, solution.packages, solution.request, platform=solution.platform, flags=solution.flags
    )
