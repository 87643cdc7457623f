"""Small hand-written universes for the solver tests, and the checks every test solution goes through.

A universe file (``fixtures/universes/*.txt``) holds several opam files, each introduced by a line
``=== name.version``; ``#`` lines before the first one describe what the universe is for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from opamlock.env import PlatformVars, SolveFlags
from opamlock.formula import parse_atom
from opamlock.package import Package
from opamlock.solver import Solution, solve
from opamlock.validate import validate
from opamlock.version import OpamVersion

UNIVERSES = Path(__file__).resolve().parents[1] / "fixtures" / "universes"

LINUX = PlatformVars(
    {"arch": "x86_64", "os": "linux", "os-family": "debian", "os-distribution": "debian",
     "os-version": "12", "opam-version": "2.1.2"}
)


def _parse(text: str, filename: str):  # type: ignore[no-untyped-def]
    try:
        from opamlock.opamfile import parse
    except ImportError:
        pytest.skip("the opam parser (opamlock.opamfile.parse) is not available")
    return parse(text, filename)


class MemoryUniverse:
    """The part of a repository universe the solver reads, held in memory."""

    def __init__(self, packages: Iterable[Package]) -> None:
        self._by: dict[str, dict[OpamVersion, Package]] = {}
        for p in packages:
            self._by.setdefault(p.name, {})[p.version] = p

    def __contains__(self, name: object) -> bool:
        return name in self._by

    def names(self) -> list[str]:
        return sorted(self._by)

    def versions(self, name: str) -> list[OpamVersion]:
        return sorted(self._by.get(name, {}))

    def package(self, name: str, version: OpamVersion) -> Package:
        return self._by[name][version]


def universe_from_text(text: str, filename: str = "<universe>") -> MemoryUniverse:
    packages: list[Package] = []
    blocks = text.split("\n=== ")
    for block in blocks[1:]:
        head, _, body = block.partition("\n")
        name, _, version = head.strip().partition(".")
        opam = _parse(body, f"{filename}:{head.strip()}")
        packages.append(Package(name, OpamVersion(version), opam))
    return MemoryUniverse(packages)


def load_universe(name: str) -> MemoryUniverse:
    path = UNIVERSES / f"{name}.txt"
    return universe_from_text("\n" + path.read_text(), path.name)


def checked_solve(
    universe: MemoryUniverse,
    atoms: Sequence[str],
    *,
    platform: PlatformVars = LINUX,
    flags: SolveFlags = SolveFlags(),  # noqa: B008
    **kw: object,
) -> Solution:
    """Solve, and fail the test unless the independent validator accepts the solution."""
    sol = solve(universe, [parse_atom(a) for a in atoms], platform=platform, flags=flags, **kw)  # type: ignore[arg-type]
    violations = validate(universe, sol)
    assert violations == [], f"validator rejects the solution of {atoms}: {violations}"
    return sol


def versions_of(sol: Solution) -> dict[str, str]:
    return {n: str(p.version) for n, p in sol.packages.items()}
