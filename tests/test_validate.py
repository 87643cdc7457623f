"""The independent validator catches each kind of broken constraint, and accepts valid sets."""

from __future__ import annotations

import pytest
from solver_fixtures import LINUX, MemoryUniverse, load_universe

from opamlock.env import SolveFlags
from opamlock.formula import parse_atom
from opamlock.validate import validate_packages
from opamlock.version import OpamVersion


def _check(u: MemoryUniverse, chosen: dict[str, str], request: list[str],
           flags: SolveFlags = SolveFlags(), **kw: object) -> list[str]:  # noqa: B008
    packages = {n: u.package(n, OpamVersion(v)) for n, v in chosen.items()}
    platform = kw.get("platform", LINUX)
    return [str(v) for v in validate_packages(u, packages, [parse_atom(a) for a in request],
                                              platform=platform, flags=flags)]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def basic() -> MemoryUniverse:
    return load_universe("basic")


@pytest.fixture(scope="module")
def conflicts() -> MemoryUniverse:
    return load_universe("conflicts")


@pytest.fixture(scope="module")
def disj() -> MemoryUniverse:
    return load_universe("disjunctions")


def test_valid_set_has_no_violation(basic: MemoryUniverse) -> None:
    assert _check(basic, {"a": "2", "b": "2", "c": "1"}, ["a"]) == []


def test_unmet_dependency(basic: MemoryUniverse) -> None:
    (v,) = _check(basic, {"a": "2", "b": "2"}, ["a"])
    assert v.startswith("a.2: depends does not hold") and "unmet: c" in v


def test_wrong_dependency_version(basic: MemoryUniverse) -> None:
    out = _check(basic, {"a": "2", "b": "1", "c": "1"}, ["a"])
    assert any(v.startswith("a.2:") for v in out) and any(v.startswith("c.1:") for v in out)


def test_unavailable(basic: MemoryUniverse) -> None:
    assert _check(basic, {"b": "3"}, ["b"]) == ["b.3: not available on this platform"]
    assert _check(basic, {"b": "3"}, ["b"], platform=LINUX.with_overrides({"os": "macos"})) == []


def test_request_not_met(basic: MemoryUniverse) -> None:
    assert _check(basic, {"b": "2"}, ["b<2"]) == ['<request>: b {< "2"} is requested but b.2 is chosen']
    assert _check(basic, {"b": "2"}, ["b", "d"]) == ["<request>: d is requested but d is not installed"]


def test_conflicts_both_ways(conflicts: MemoryUniverse) -> None:
    assert _check(conflicts, {"app": "1", "x": "2", "y": "2"}, ["app"]) == [
        'x.2: conflicts with y {>= "2"}, but y.2 is chosen']
    assert _check(conflicts, {"app": "1", "x": "1", "y": "2"}, ["app"]) == []


def test_conflict_class(conflicts: MemoryUniverse) -> None:
    assert _check(conflicts, {"uses-pq": "1", "p": "1", "q": "1"}, ["uses-pq"]) == [
        "p, q: share conflict-class cc"]


def test_not_in_universe(basic: MemoryUniverse) -> None:
    from opamlock.package import Package

    fake = Package("b", OpamVersion("9"), basic.package("b", OpamVersion("1")).opam)
    out = validate_packages(basic, {"b": fake}, [parse_atom("b")], platform=LINUX)
    assert [str(v) for v in out] == ["b.9: not in the universe"]


def test_disjunction_and_root_only_test_flag(disj: MemoryUniverse) -> None:
    assert _check(disj, {"zarith": "1", "conf-gmp": "1"}, ["zarith"]) == []
    assert _check(disj, {"zarith": "1"}, ["zarith"]) != []
    assert _check(disj, {"tested": "1", "fallback": "1"}, ["tested"]) == []
    # with-doc applies to requested packages only.
    docs = {"docs": "1", "base-thing": "1"}
    assert _check(disj, docs, ["docs"]) == []
    assert _check(disj, docs, ["docs"], flags=SolveFlags(with_doc=True)) == [
        "docs.1: depends does not hold (odoc & base-thing); unmet: odoc"]
    assert _check(disj, {"user": "1", "tested": "1", "fallback": "1"}, ["user"],
                  flags=SolveFlags(with_test=True)) == []
