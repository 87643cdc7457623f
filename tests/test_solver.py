"""The solver's encodings and preferences on small universes whose right answers are known by hand.

Every solution goes through the independent validator (``checked_solve``).
"""

from __future__ import annotations

import pytest
from solver_fixtures import LINUX, checked_solve, load_universe, versions_of

from opamlock.env import SolveFlags
from opamlock.formula import parse_atom
from opamlock.solver import SolveError, solve


@pytest.fixture(scope="module")
def basic():  # type: ignore[no-untyped-def]
    return load_universe("basic")


@pytest.fixture(scope="module")
def cycle():  # type: ignore[no-untyped-def]
    return load_universe("cycle")


@pytest.fixture(scope="module")
def conflicts():  # type: ignore[no-untyped-def]
    return load_universe("conflicts")


@pytest.fixture(scope="module")
def disj():  # type: ignore[no-untyped-def]
    return load_universe("disjunctions")


@pytest.fixture(scope="module")
def avoid():  # type: ignore[no-untyped-def]
    return load_universe("avoid")


# -- versions, constraints, missing and unavailable ------------------------------------------------


def test_newest_installable_version_wins(basic) -> None:  # type: ignore[no-untyped-def]
    # a.3 depends on a missing name, b.3 is macOS only: a.2 with b.2 (c.1 pins b = 2).
    assert versions_of(checked_solve(basic, ["a"])) == {"a": "2", "b": "2", "c": "1"}


def test_request_constraints(basic) -> None:  # type: ignore[no-untyped-def]
    assert versions_of(checked_solve(basic, ["a<2"])) == {"a": "1", "b": "2"}
    assert versions_of(checked_solve(basic, ["a.1", "b<2"])) == {"a": "1", "b": "1"}
    assert versions_of(checked_solve(basic, ["b!=2"])) == {"b": "1"}


def test_dependency_constraints_meet(basic) -> None:  # type: ignore[no-untyped-def]
    assert versions_of(checked_solve(basic, ["d", "a"])) == {"a": "1", "b": "1", "d": "1"}


def test_platform_changes_availability(basic) -> None:  # type: ignore[no-untyped-def]
    macos = LINUX.with_overrides({"os": "macos"})
    assert versions_of(checked_solve(basic, ["b"], platform=macos)) == {"b": "3"}
    assert versions_of(checked_solve(basic, ["b"])) == {"b": "2"}


def test_equal_version_constraint(basic) -> None:  # type: ignore[no-untyped-def]
    # g-sub.2 is unavailable, so g.2 (which needs g-sub {= "2"}) is out.
    assert versions_of(checked_solve(basic, ["g"])) == {"g": "1", "g-sub": "1"}


def test_missing_request_is_explained(basic) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SolveError, match="no package named 'zzz'"):
        solve(basic, [parse_atom("zzz")], platform=LINUX)


def test_missing_dependency_explained(basic) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SolveError) as e:
        solve(basic, [parse_atom("a.3")], platform=LINUX)
    assert "a.3 requires nowhere, but no package nowhere exists" in e.value.message


def test_unavailable_explained_with_its_condition(basic) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SolveError) as e:
        solve(basic, [parse_atom("f")], platform=LINUX)
    msg = e.value.message
    assert "e.2 is not available here" in msg and "?undefined-var" in msg
    assert 'arch = "sparc"' in msg


def test_request_conflict_explained(basic) -> None:  # type: ignore[no-untyped-def]
    # d needs b < 2, c needs b = 2.
    with pytest.raises(SolveError) as e:
        solve(basic, [parse_atom("d"), parse_atom("c")], platform=LINUX)
    assert "b" in e.value.message and e.value.causes


# -- the compiler cycle, conflict classes, the compiler trap ---------------------------------------


def test_cycle_through_post_dependency(cycle) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(cycle, ["ocaml-base-compiler.4.14.2"])
    assert versions_of(sol) == {"ocaml": "4.14.2", "ocaml-base-compiler": "4.14.2"}
    kinds = {a.name: a.kind for a in sol.edges["ocaml-base-compiler"]}
    assert kinds == {"ocaml": "post"}


def test_compiler_trap_prefers_unflagged_implementation(cycle) -> None:  # type: ignore[no-untyped-def]
    # ocaml.5.5.1 is newest and unflagged, but its only implementation is avoid-version.
    sol = checked_solve(cycle, ["lib"])
    assert versions_of(sol) == {"lib": "2", "ocaml": "5.4.0", "ocaml-base-compiler": "5.4.0"}


def test_avoided_compiler_when_asked(cycle) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(cycle, ["ocaml.5.5.1"])
    assert versions_of(sol) == {"ocaml": "5.5.1", "ocaml-variants": "5.5.1+trunk"}


def test_pinned_compiler_narrows_everything(cycle) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(cycle, ["ocaml-base-compiler.4.14.2", "lib"])
    assert versions_of(sol)["lib"] == "1"


def test_conflict_class_excludes_other_implementation(cycle) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(cycle, ["ocaml-variants", "lib"])
    assert versions_of(sol) == {"lib": "2", "ocaml": "5.4.0", "ocaml-variants": "5.4.0+flambda"}
    with pytest.raises(SolveError, match="conflict-class ocaml-core-compiler"):
        solve(cycle, [parse_atom("ocaml-variants.5.4.0+flambda"), parse_atom("ocaml-base-compiler")],
              platform=LINUX)


def test_unavailable_system_compiler_and_its_variable(cycle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SolveError, match="sys-ocaml-version"):
        solve(cycle, [parse_atom("ocaml-system")], platform=LINUX)
    with_sys = LINUX.with_overrides({"sys-ocaml-version": "4.14.2"})
    sol = checked_solve(cycle, ["ocaml-system"], platform=with_sys)
    assert versions_of(sol) == {"ocaml": "4.14.2", "ocaml-system": "4.14.2"}


def test_impossible_compiler_range_explained(cycle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SolveError) as e:
        solve(cycle, [parse_atom("lib"), parse_atom("ocaml<4.14")], platform=LINUX)
    msg = e.value.message
    assert "lib.2" in msg and 'ocaml {>= "5.0"}' in msg and "the request asks for ocaml<4.14" in msg


# -- conflicts and the absent encoding -------------------------------------------------------------


def test_conflict_range_picks_compatible_versions(conflicts) -> None:  # type: ignore[no-untyped-def]
    # x.2 conflicts with y >= 2: newest x with an older y, or older x with newest y.
    got = versions_of(checked_solve(conflicts, ["app"]))
    assert got in ({"app": "1", "x": "2", "y": "1"}, {"app": "1", "x": "1", "y": "2"})
    assert versions_of(checked_solve(conflicts, ["app", "y.2"])) == {"app": "1", "x": "1", "y": "2"}


def test_conflict_holds_in_both_directions(conflicts) -> None:  # type: ignore[no-untyped-def]
    for req in (["z", "x"], ["x", "z"], ["w"]):
        with pytest.raises(SolveError, match="conflicts with x"):
            solve(conflicts, [parse_atom(a) for a in req], platform=LINUX)


def test_conflict_on_uninstalled_name_costs_nothing(conflicts) -> None:  # type: ignore[no-untyped-def]
    assert versions_of(checked_solve(conflicts, ["ghost", "x"])) == {"ghost": "1", "x": "2"}
    assert versions_of(checked_solve(conflicts, ["z"])) == {"z": "1"}


def test_conflict_class(conflicts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SolveError, match="conflict-class cc"):
        solve(conflicts, [parse_atom("uses-pq")], platform=LINUX)
    assert versions_of(checked_solve(conflicts, ["either"])) == {"either": "1", "p": "1"}
    assert versions_of(checked_solve(conflicts, ["either", "forbids-p"])) == {
        "either": "1", "forbids-p": "1", "q": "1"}
    assert versions_of(checked_solve(conflicts, ["either", "q"])) == {"either": "1", "q": "1"}


# -- disjunctions ----------------------------------------------------------------------------------


def test_disjunction_skips_unavailable_branch(disj) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(disj, ["zarith"])
    assert versions_of(sol) == {"zarith": "1", "conf-gmp": "1"}
    assert [str(a) for a in sol.edges["zarith"]] == ["conf-gmp"]


def test_filtered_branch_disappears(disj) -> None:  # type: ignore[no-untyped-def]
    # Without tests, `"testlib" {with-test} | "fallback"` means fallback.
    assert versions_of(checked_solve(disj, ["tested"])) == {"tested": "1", "fallback": "1"}
    # With tests, for the root only: the first branch is preferred.
    sol = checked_solve(disj, ["tested"], flags=SolveFlags(with_test=True))
    assert versions_of(sol) == {"tested": "1", "testlib": "1"}
    assert {a.name: a.kind for a in sol.edges["tested"]} == {"testlib": "test"}
    # Not a root: with-test stays false for it.
    assert versions_of(checked_solve(disj, ["user"], flags=SolveFlags(with_test=True))) == {
        "user": "1", "tested": "1", "fallback": "1"}


def test_with_doc_for_roots_only(disj) -> None:  # type: ignore[no-untyped-def]
    assert "odoc" not in checked_solve(disj, ["docs"]).packages
    assert "odoc" in checked_solve(disj, ["docs"], flags=SolveFlags(with_doc=True)).packages


def test_nested_disjunction(disj) -> None:  # type: ignore[no-untyped-def]
    # n.1 does not satisfy n >= 2, so the second branch (m & o) must be taken.
    assert versions_of(checked_solve(disj, ["nested"])) == {"nested": "1", "m": "1", "o": "1"}


def test_disjunction_backtracks_to_other_branch(disj) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(disj, ["needs-l2"])
    assert versions_of(sol) == {"needs-l2": "1", "bothsides": "1", "l": "2", "r": "1"}
    assert [str(a) for a in sol.edges["bothsides"]] == ["r"]


# -- avoided versions ------------------------------------------------------------------------------


def test_avoid_version_falls_back(avoid) -> None:  # type: ignore[no-untyped-def]
    assert versions_of(checked_solve(avoid, ["tool"])) == {"tool": "1"}
    assert versions_of(checked_solve(avoid, ["via"])) == {"via": "1", "tool": "1"}
    # Unavoidable: only flagged versions fit.
    assert versions_of(checked_solve(avoid, ["pinned-new"])) == {"pinned-new": "1", "tool": "3"}


def test_avoided_branch_last(avoid) -> None:  # type: ignore[no-untyped-def]
    assert versions_of(checked_solve(avoid, ["good-or-bad"])) == {"good-or-bad": "1", "good": "1"}


def test_avoid_callback(avoid) -> None:  # type: ignore[no-untyped-def]
    sol = checked_solve(avoid, ["tool"], avoid=lambda p: str(p.version) == "1")
    assert versions_of(sol) == {"tool": "3"}


def test_locked_versions_preferred_while_they_fit(basic) -> None:  # type: ignore[no-untyped-def]
    from opamlock.version import OpamVersion

    sol = checked_solve(basic, ["b"], locked={"b": OpamVersion("1")})
    assert versions_of(sol) == {"b": "1"}
    # A locked version that no longer fits is ignored.
    sol = checked_solve(basic, ["b>=2"], locked={"b": OpamVersion("1")})
    assert versions_of(sol) == {"b": "2"}


def test_solution_is_deterministic(conflicts) -> None:  # type: ignore[no-untyped-def]
    first = versions_of(checked_solve(conflicts, ["app", "ghost", "either"]))
    for _ in range(3):
        assert versions_of(checked_solve(conflicts, ["app", "ghost", "either"])) == first


# -- failures only the search finds, and limits ----------------------------------------------------


def test_search_failure_lists_clashing_requirements() -> None:
    pigeons = load_universe("pigeons")
    assert versions_of(checked_solve(pigeons, ["p1", "p2"])) in (
        {"p1": "1", "p2": "1", "h1": "1", "h2": "2"}, {"p1": "1", "p2": "1", "h1": "2", "h2": "1"})
    with pytest.raises(SolveError) as e:
        solve(pigeons, [parse_atom(a) for a in ("p1", "p2", "p3")], platform=LINUX)
    assert "these requirements clash" in e.value.message
    assert any(c.startswith("p") and " requires " in c for c in e.value.causes)


def test_round_limit_is_reported_as_a_limit_not_a_proof() -> None:
    pigeons = load_universe("pigeons")
    with pytest.raises(SolveError) as e:
        solve(pigeons, [parse_atom(a) for a in ("p1", "p2", "p3")], platform=LINUX, max_rounds=2)
    assert "gave up" in e.value.message and "not a proof" in (e.value.hint or "")
