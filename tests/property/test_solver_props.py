"""Laws of the solver on random small universes.

* soundness: every solution the solver returns is accepted by the independent validator;
* completeness (where a brute-force search can decide): if some installation set satisfies the
  request, the solver finds one; if none does, it says so with a :class:`SolveError`.

Universes are built directly as opam syntax trees (no parser involved): a few names with a few
versions each, whose ``depends`` mix constrained atoms, ``|`` and ``{with-test}``, with random
``conflicts``, ``conflict-class``, ``available: false`` and ``avoid-version``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opamlock.env import PlatformVars, SolveFlags
from opamlock.formula import Atom, parse_atom
from opamlock.opamfile import ast
from opamlock.package import Package
from opamlock.solver import SolveError, solve
from opamlock.validate import validate, validate_packages
from opamlock.version import OpamVersion

NAMES = ["a", "b", "c", "d", "e"]
VERSIONS = ["1", "2"]
PLATFORM = PlatformVars({"os": "linux", "arch": "x86_64", "opam-version": "2.1.2"})


class _Universe:
    def __init__(self, packages: Iterable[Package]) -> None:
        self.by: dict[str, dict[OpamVersion, Package]] = {}
        for p in packages:
            self.by.setdefault(p.name, {})[p.version] = p

    def __contains__(self, name: object) -> bool:
        return name in self.by

    def versions(self, name: str) -> list[OpamVersion]:
        return sorted(self.by.get(name, {}))

    def package(self, name: str, version: OpamVersion) -> Package:
        return self.by[name][version]


_ops = st.sampled_from(["=", ">=", "<", "!="])


@st.composite
def atoms(draw: st.DrawFn, owner: str) -> ast.Value:
    name = draw(st.sampled_from([n for n in NAMES if n != owner] + ["missing"]))
    args: list[ast.Value] = []
    if draw(st.booleans()):
        args.append(ast.PrefixRelop(draw(_ops), ast.String(draw(st.sampled_from(VERSIONS)))))
    if draw(st.integers(0, 5)) == 0:
        args = [ast.Logop("&", ast.Ident("with-test"), args[0])] if args else [ast.Ident("with-test")]
    return ast.Option(ast.String(name), args) if args else ast.String(name)


@st.composite
def formulas(draw: st.DrawFn, owner: str) -> ast.Value:
    if draw(st.integers(0, 3)) == 0:
        return ast.Logop("|", draw(atoms(owner)), draw(atoms(owner)))
    return draw(atoms(owner))


@st.composite
def package(draw: st.DrawFn, name: str, version: str) -> Package:
    items: list[ast.Item] = []
    deps = draw(st.lists(formulas(name), max_size=3))
    if deps:
        items.append(ast.Variable("depends", ast.List(deps)))
    confl = draw(st.lists(atoms(name), max_size=1))
    if confl and draw(st.integers(0, 2)) == 0:
        items.append(ast.Variable("conflicts", ast.List(confl)))
    if draw(st.integers(0, 5)) == 0:
        items.append(ast.Variable("conflict-class", ast.String("k")))
    if draw(st.integers(0, 7)) == 0:
        items.append(ast.Variable("available", ast.Bool(False)))
    if draw(st.integers(0, 5)) == 0:
        items.append(ast.Variable("flags", ast.Ident("avoid-version")))
    return Package(name, OpamVersion(version), ast.OpamFile(items, filename=f"{name}.{version}"))


@st.composite
def universes(draw: st.DrawFn) -> _Universe:
    pkgs = []
    for name in NAMES:
        for v in draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=2, unique=True)):
            pkgs.append(draw(package(name, v)))
    return _Universe(pkgs)


requests = st.lists(
    st.sampled_from(["a", "b", "a.1", "b>=2", "c<2", "d", "e!=1"]), min_size=1, max_size=2, unique=True
)


def _brute_force(u: _Universe, request: list[Atom], flags: SolveFlags) -> dict[str, str] | None:
    """Some valid installation set, by trying every assignment of a version (or nothing) to each name."""
    options = [[None, *u.versions(n)] for n in NAMES]
    for combo in itertools.product(*options):
        chosen = {n: u.package(n, v) for n, v in zip(NAMES, combo, strict=True) if v is not None}
        if not validate_packages(u, chosen, request, platform=PLATFORM, flags=flags):
            return {n: str(p.version) for n, p in chosen.items()}
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(universes(), requests, st.booleans())
def test_solutions_valid_and_found_when_they_exist(u: _Universe, req: list[str], with_test: bool) -> None:
    request = [parse_atom(r) for r in req]
    flags = SolveFlags(with_test=with_test)
    expected = _brute_force(u, request, flags)
    try:
        sol = solve(u, request, platform=PLATFORM, flags=flags)
    except SolveError as e:
        assert expected is None, f"solver says impossible ({e.message}), but {expected} is a solution"
        assert e.message
        return
    assert validate(u, sol) == []
    assert expected is not None  # (the validator accepted it, so brute force must find one too)
