"""Preference (1) for the whole solution: no avoid-version/deprecated package unless unavoidable.

Fixture universes reproduce the shapes met on the real repository (a newest compiler whose only
ocamlfind is an avoid-version preview; a root whose newest version needs it), and one that only
the re-solve pass can fix. A hypothesis law checks, against brute force on random small
universes, that whenever an avoid-free installation exists the solution is avoid-free. A corpus
test runs ``cohttp-eio`` itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solver_fixtures import LINUX, MemoryUniverse, checked_solve, load_universe, versions_of

from opamlock.env import SolveFlags, host_platform
from opamlock.formula import parse_atom
from opamlock.opamfile import ast
from opamlock.package import Package
from opamlock.solver import Solution, SolveError, solve
from opamlock.solver.avoided import Attempt, Exclusions, better, fewest_avoided
from opamlock.validate import validate, validate_packages
from opamlock.version import OpamVersion


@pytest.fixture(scope="module")
def compiler():  # type: ignore[no-untyped-def]
    return load_universe("avoid-compiler")


@pytest.fixture(scope="module")
def combination():  # type: ignore[no-untyped-def]
    return load_universe("avoid-combination")


def _avoided(sol: Solution) -> list[str]:
    return sorted(f"{n}.{p.version}" for n, p in sol.packages.items() if p.avoid)


_NO_FLAGS = SolveFlags()


# -- the cohttp-eio shape --------------------------------------------------------------------------


def test_older_compiler_rather_than_avoided_ocamlfind(compiler) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(compiler, ["cohttp-eio"])
    got = versions_of(sol)
    assert got["cohttp-eio"] == "6.3.0"
    assert (got["ocaml"], got["ocamlfind"]) == ("5.4.1", "1.9.8")
    assert _avoided(sol) == []


def test_newest_compiler_when_nothing_needs_ocamlfind(compiler) -> None:  # type: ignore[no-untyped-def]
    assert versions_of(checked_solve(compiler, ["pure"]))["ocaml"] == "5.5.0"
    # Together with cohttp-eio, the compiler both can share without avoided packages.
    assert versions_of(checked_solve(compiler, ["pure", "cohttp-eio"]))["ocaml"] == "5.4.1"


def test_avoided_ocamlfind_when_the_request_makes_it_unavoidable(compiler) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(compiler, ["ocaml.5.5.0", "cohttp-eio"])
    assert _avoided(sol) == ["ocamlfind.1.9.9~preview"]
    sol = checked_solve(compiler, ["tool.2"])
    assert _avoided(sol) == ["ocamlfind.1.9.9~preview"]


def test_older_root_rather_than_avoided_package(compiler) -> None:  # type: ignore[no-untyped-def]
    # tool.2 needs ocaml >= 5.5 and so the preview ocamlfind: preference (1) comes before (2).
    sol = checked_solve(compiler, ["tool"])
    assert versions_of(sol)["tool"] == "1" and _avoided(sol) == []


def test_compiler_trap_still_avoided(compiler) -> None:  # type: ignore[no-untyped-def]
    assert versions_of(checked_solve(compiler, ["ocamlfind"])) == {
        "ocaml": "5.4.1", "ocaml-base-compiler": "5.4.1", "ocamlfind": "1.9.8"}
    sol = checked_solve(compiler, ["ocaml.5.5.1", "pure"])
    assert _avoided(sol) == ["ocaml-variants.5.5.1+trunk"]


# -- the re-solve pass -----------------------------------------------------------------------------


def test_resolve_without_avoided_finds_the_combination(combination) -> None:  # type: ignore[no-untyped-def]
    # Every version is good on its own; only excluding z.2 and re-solving reaches x.1, lib.1, z.1.
    sol = checked_solve(combination, ["app"])
    assert versions_of(sol) == {"app": "1", "x": "1", "y": "1", "z": "1", "lib": "1"}


def test_unavoidable_request_keeps_the_avoided_version(combination) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(combination, ["app", "needs-z2"])
    assert _avoided(sol) == ["z.2"] and versions_of(sol)["x"] == "2"


def _attempt(avoided: Sequence[str], **roots: str) -> Attempt:
    pkgs = {n: _pkg(n, v) for n, v in roots.items()}
    sol = Solution(platform=LINUX, flags=_NO_FLAGS, request=(), packages=pkgs)
    return Attempt(sol, frozenset((a.split(".")[0], OpamVersion(a.split(".", 1)[1])) for a in avoided))


def _pkg(name: str, version: str) -> Package:
    return Package(name, OpamVersion(version), ast.OpamFile([], filename=f"{name}.{version}"))


def _key(ex: Exclusions) -> frozenset[str]:
    return frozenset(f"{n}.{v}" for n, v in ex)


def test_fewest_avoided_all_at_once_then_one_at_a_time() -> None:
    first = _attempt(["a.1", "b.1"], r="2")
    asked: list[frozenset[str]] = []

    def search(ex: Exclusions) -> Attempt | None:
        asked.append(_key(ex))
        # a.1 is unavoidable; without b.1 a solution holds only a.1.
        if "a.1" in _key(ex):
            return None
        return _attempt(["a.1"], r="2")

    best = fewest_avoided(search, first, ["r"], 10)
    assert _key(best.avoided) == {"a.1"}
    # a.1 is never tried again once its exclusion failed: more exclusions cannot help.
    assert asked == [{"a.1", "b.1"}, {"a.1"}, {"b.1"}]


def test_fewest_avoided_keeps_exclusions_growing_until_avoid_free() -> None:
    # Excluding x.1 yields a solution with y.1 instead (no better); excluding both, none.
    first = _attempt(["x.1"], r="3")
    steps = {frozenset({"x.1"}): _attempt(["y.1"], r="3"), frozenset({"x.1", "y.1"}): _attempt([], r="2")}

    def search(ex: Exclusions) -> Attempt | None:
        return steps.get(_key(ex))

    best = fewest_avoided(search, first, ["r"], 10)
    assert _key(best.avoided) == set() and str(best.solution.packages["r"].version) == "2"


def test_fewest_avoided_makes_at_most_the_attempts_allowed() -> None:
    calls: list[frozenset[str]] = []

    def search(ex: Exclusions) -> Attempt | None:
        calls.append(_key(ex))
        return None

    first = _attempt(["a.1", "b.1", "c.1"], r="1")
    assert fewest_avoided(search, first, ["r"], 0) is first and calls == []
    assert fewest_avoided(search, first, ["r"], 2) is first
    assert calls == [{"a.1", "b.1", "c.1"}, {"a.1"}]


def test_better_orders_by_avoided_then_roots_then_size() -> None:
    assert better(_attempt([], r="1"), _attempt(["a.1"], r="2"), ["r"])
    assert better(_attempt(["a.1"], r="2", s="1"), _attempt(["b.1"], r="1", s="9"), ["r", "s"])
    assert better(_attempt([], r="2", s="1"), _attempt([], r="2", s="1", t="1"), ["r", "s"])
    assert not better(_attempt([], r="2"), _attempt([], r="2"), ["r"])


# -- the law on random universes -------------------------------------------------------------------

NAMES = ["a", "b", "c", "d"]
PLATFORM = LINUX


@st.composite
def _atom(draw: st.DrawFn, owner: str) -> ast.Value:
    name = draw(st.sampled_from([n for n in NAMES if n != owner]))
    if draw(st.booleans()):
        op: ast.RelOp = draw(st.sampled_from(["=", ">=", "<", "!="]))
        return ast.Option(ast.String(name), [ast.PrefixRelop(op, ast.String(draw(st.sampled_from("123"))))])
    return ast.String(name)


@st.composite
def _package(draw: st.DrawFn, name: str, version: str) -> Package:
    items: list[ast.Item] = []
    deps = draw(st.lists(st.one_of(_atom(name), st.builds(lambda x, y: ast.Logop("|", x, y),
                                                           _atom(name), _atom(name))), max_size=2))
    if deps:
        items.append(ast.Variable("depends", ast.List(deps)))
    if draw(st.integers(0, 3)) == 0:
        items.append(ast.Variable("conflicts", ast.List([draw(_atom(name))])))
    if draw(st.integers(0, 2)) == 0:
        items.append(ast.Variable("flags", ast.Ident(draw(st.sampled_from(["avoid-version", "deprecated"])))))
    return Package(name, OpamVersion(version), ast.OpamFile(items, filename=f"{name}.{version}"))


@st.composite
def _universe(draw: st.DrawFn) -> MemoryUniverse:
    pkgs = [draw(_package(n, v)) for n in NAMES
            for v in draw(st.lists(st.sampled_from("123"), min_size=1, max_size=3, unique=True))]
    return MemoryUniverse(pkgs)


def _avoid_free_exists(u: MemoryUniverse, request: list[Any]) -> bool:
    options = [[None, *u.versions(n)] for n in NAMES]
    for combo in itertools.product(*options):
        chosen = {n: u.package(n, v) for n, v in zip(NAMES, combo, strict=True) if v is not None}
        if any(p.avoid for p in chosen.values()):
            continue
        if not validate_packages(u, chosen, request, platform=PLATFORM, flags=_NO_FLAGS):
            return True
    return False


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_universe(), st.lists(st.sampled_from(["a", "b", "a>=2", "c"]), min_size=1, max_size=2, unique=True))
def test_avoid_free_whenever_possible(u: MemoryUniverse, req: list[str]) -> None:
    request = [parse_atom(r) for r in req]
    try:
        sol = solve(u, request, platform=PLATFORM)
    except SolveError:
        return  # completeness is test_solver_props' law
    assert validate(u, sol) == []
    if _avoid_free_exists(u, request):
        assert _avoided(sol) == [], f"avoid-free installation exists, solver chose {versions_of(sol)}"


# -- the real repository ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(snapshot_dir: Path) -> Any:
    from opamlock.repository import load_universe as load_repo

    return load_repo([snapshot_dir], progress=False)


@pytest.mark.corpus
def test_cohttp_eio_needs_no_avoided_package(real: Any) -> None:
    platform = host_platform(opam_version="2.1.2")
    sol = solve(real, [parse_atom("cohttp-eio")], platform=platform)
    assert validate(real, sol) == []
    got = versions_of(sol)
    assert _avoided(sol) == [], got
    assert got["cohttp-eio"] == str(max(real.versions("cohttp-eio")))
    assert got["ocamlfind"] == "1.9.8" and got["ocaml"] == "5.4.1"


@pytest.mark.corpus
@pytest.mark.parametrize("request_text", ["mirage", "lwt", "cohttp-lwt-unix", "ppx_deriving"])
def test_everyday_requests_need_no_avoided_package(real: Any, request_text: str) -> None:
    platform = host_platform(opam_version="2.1.2")
    sol = solve(real, [parse_atom(a) for a in request_text.split()], platform=platform)
    assert validate(real, sol) == []
    assert _avoided(sol) == []


@pytest.mark.corpus
def test_pinned_new_compiler_makes_the_preview_unavoidable(real: Any) -> None:
    platform = host_platform(opam_version="2.1.2")
    sol = solve(real, [parse_atom("ocaml.5.5.0"), parse_atom("cohttp-eio")], platform=platform)
    assert validate(real, sol) == []
    assert "ocamlfind.1.9.9~preview" in _avoided(sol)


def test_cycle_cut_off_by_backtracking_does_not_recurse_forever() -> None:
    # Every solution holds an avoided version; a.1 alone is the smallest.
    u = load_universe("cycle-backtrack")
    assert versions_of(checked_solve(u, ["a"])) == {"a": "1"}
    sol = checked_solve(u, ["a.2"])
    assert versions_of(sol) == {"a": "2", "b": "1", "c": "1"}


def test_disjunction_asked_for_after_backtracking_removed_its_requirements() -> None:
    u = load_universe("backtrack-or")
    with pytest.raises(SolveError) as e:
        solve(u, [parse_atom("b")], platform=LINUX)
    assert e.value.causes
