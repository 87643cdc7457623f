"""Package formulas as opam filters them (``OpamFilter.filter_formula``/``filter_deps``)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from opamlock.formula import (
    And,
    Atom,
    InvalidAtom,
    InvalidFormula,
    Or,
    VAnd,
    VConstraint,
    VOr,
    VTrue,
    atoms_of,
    formula_of_value,
    parse_atom,
    vmatch,
)
from opamlock.opamfile import ast
from opamlock.version import OpamVersion

S, I, G = ast.String, ast.Ident, ast.Group  # noqa: E741


def OPT(name: str, *args: ast.Value) -> ast.Option:
    return ast.Option(S(name), list(args))


def AND(a: ast.Value, b: ast.Value) -> ast.Logop:
    return ast.Logop("&", a, b)


def OR(a: ast.Value, b: ast.Value) -> ast.Logop:
    return ast.Logop("|", a, b)


def NOT(a: ast.Value) -> ast.Pfxop:
    return ast.Pfxop("!", a)


def C(op: str, v: str | ast.Value) -> ast.PrefixRelop:
    return ast.PrefixRelop(op, S(v) if isinstance(v, str) else v)  # type: ignore[arg-type]


def REL(op: str, a: ast.Value, b: ast.Value) -> ast.Relop:
    return ast.Relop(op, a, b)  # type: ignore[arg-type]


def depends(*items: ast.Value) -> list[ast.Value]:
    return list(items)


def resolve(items: Sequence[ast.Value], env: dict[str, str | bool], *, disjunction: bool = False) -> str:
    r = formula_of_value(ast.List(list(items)), disjunction=disjunction).resolve(env)
    return "<empty>" if r is None else str(r)


SOLVE: dict[str, str | bool] = {
    "build": True, "post": True, "with-test": False, "with-doc": False, "dev": False,
    "os": "linux", "name": "foo", "version": "1.0",
}


def V(s: str) -> OpamVersion:
    return OpamVersion(s)


# --------------------------------------------------------------------------------------------
# dropped atoms are Empty


def test_dropped_atom_vanishes_from_or() -> None:
    f = [OR(OPT("a", I("with-test")), S("b"))]
    assert resolve(f, SOLVE) == "b"
    assert resolve(f, {**SOLVE, "with-test": True}) == "a | b"


def test_everything_dropped_is_empty() -> None:
    assert resolve([OPT("a", I("with-test")), OPT("b", I("with-doc"))], SOLVE) == "<empty>"
    assert formula_of_value(None, disjunction=False).resolve(SOLVE) is None
    assert formula_of_value(None, disjunction=False).is_empty()


def test_undefined_filter_drops_the_atom() -> None:
    assert resolve([OPT("a", I("undefined-var")), S("b")], SOLVE) == "b"
    assert resolve([OPT("a", NOT(I("undefined-var")))], SOLVE) == "<empty>"


def test_juxtaposed_items_are_a_conjunction_and_flatten() -> None:
    r = formula_of_value(ast.List([S("a"), AND(S("b"), S("c"))]), disjunction=False).resolve(SOLVE)
    assert isinstance(r, And)
    assert [a.name for a in atoms_of(r)] == ["a", "b", "c"]


def test_groups_nest() -> None:
    f: list[ast.Value] = [G([OR(S("a"), S("b"))]), S("c")]
    assert resolve(f, SOLVE) == "(a | b) & c"
    f2 = [OR(G([AND(S("a"), S("b"))]), S("c"))]
    assert resolve(f2, SOLVE) == "(a & b) | c"


# --------------------------------------------------------------------------------------------
# constraints


def test_simple_constraints_and_their_conjunction() -> None:
    assert resolve([OPT("dune", C(">=", "3.0"))], SOLVE) == 'dune {>= "3.0"}'
    assert resolve([OPT("ocaml", AND(C(">=", "4.08"), C("<", "5.0")))], SOLVE) == (
        'ocaml {>= "4.08" & < "5.0"}'
    )
    # Juxtaposed option arguments are ANDed too.
    assert resolve([OPT("x", C(">=", "1"), C("<", "2"))], SOLVE) == 'x {>= "1" & < "2"}'


def test_variable_valued_constraint() -> None:
    r = formula_of_value(ast.List([OPT("foo-lib", C("=", I("version")))]), disjunction=False).resolve(SOLVE)
    assert r == Atom("foo-lib", VConstraint("=", V("1.0")))
    assert resolve([OPT("foo-lib", AND(C("=", I("version")), I("with-test")))], SOLVE) == "<empty>"
    assert resolve([OPT("foo-lib", AND(I("post"), C("=", I("_:version"))))], SOLVE) == 'foo-lib {= "1.0"}'


def test_constraint_on_equal_spelling_matches_both() -> None:
    r = formula_of_value(ast.List([OPT("ocaml-variants", C("=", "5.5.0+introcaml"))]), disjunction=False)
    atom = r.resolve(SOLVE)
    assert isinstance(atom, Atom)
    assert atom.matches(V("5.5.0+introcaml0")) and atom.matches(V("5.5.0+introcaml"))


def test_undefined_constraint_variable_drops_the_atom() -> None:
    # opam >= 2.2 (filter_undefined) drops it; another package's variable is not visible here.
    assert resolve([OPT("bar", C("=", I("bar:version"))), S("b")], SOLVE) == "b"
    # ... but in a disjunction of constraints only that branch goes.
    assert resolve([OPT("bar", OR(C("=", I("bar:version")), C(">=", "2")))], SOLVE) == 'bar {>= "2"}'


def test_constraint_that_is_not_a_version_is_ignored() -> None:
    # opam's filter_constraints: "ignoring version constraint" -> the atom stays, unconstrained.
    assert resolve([OPT("bar", C(">=", "%{undefined-var}%"))], SOLVE) == "bar"
    assert resolve([OPT("bar", AND(C(">=", "%{undefined-var}%"), C("<", "3")))], SOLVE) == 'bar {< "3"}'


def test_interpolated_constraint() -> None:
    assert resolve([OPT("bar", C("=", "%{version}%"))], SOLVE) == 'bar {= "1.0"}'


# --------------------------------------------------------------------------------------------
# negation pushed into version formulas


def test_negated_range() -> None:
    r = formula_of_value(
        ast.List([OPT("x", NOT(G([AND(C(">=", "1"), C("<", "2"))])))]), disjunction=False
    ).resolve(SOLVE)
    assert r == Atom("x", VOr((VConstraint("<", V("1")), VConstraint(">=", V("2")))))
    assert isinstance(r, Atom)
    assert [r.matches(V(v)) for v in ["0.9", "1", "1.5", "2", "3"]] == [True, False, False, True, True]


@pytest.mark.parametrize(
    ("op", "neg"), [("=", "!="), ("!=", "="), ("<", ">="), (">=", "<"), (">", "<="), ("<=", ">")]
)
def test_each_relop_negates(op: str, neg: str) -> None:
    assert resolve([OPT("x", NOT(C(op, "1")))], SOLVE) == f'x {{{neg} "1"}}'


def test_double_negation() -> None:
    assert resolve([OPT("x", NOT(NOT(C(">=", "1"))))], SOLVE) == 'x {>= "1"}'


def test_manual_example() -> None:
    # "foo" {>= "3.12"} & ("bar" | "baz" {!(> "2" & < "3.5") & != "5.1"})
    f: list[ast.Value] = [AND(OPT("foo", C(">=", "3.12")),
             G([OR(S("bar"), OPT("baz", AND(NOT(G([AND(C(">", "2"), C("<", "3.5"))])), C("!=", "5.1"))))]))]
    r = formula_of_value(ast.List(f), disjunction=False).resolve(SOLVE)
    assert str(r) == 'foo {>= "3.12"} & (bar | baz {(<= "2" | >= "3.5") & != "5.1"})'
    baz = next(a for a in atoms_of(r) if a.name == "baz")
    got = [baz.matches(V(v)) for v in ["1", "2", "3", "3.5", "5.1", "6"]]
    assert got == [True, True, False, True, False, True]


def test_negation_reaches_filters() -> None:
    f = [OPT("x", NOT(G([AND(I("build"), C(">=", "1"))])))]
    assert resolve(f, SOLVE) == 'x {< "1"}'  # !build is false, so only < "1" remains
    assert resolve(f, {**SOLVE, "build": False}) == "x"  # !build is true: no constraint
    # An undefined leaf is false whether or not it is negated.
    assert resolve([OPT("x", NOT(G([AND(I("undefined-var"), C(">=", "1"))])))], SOLVE) == 'x {< "1"}'


# --------------------------------------------------------------------------------------------
# mixed filters and constraints


MIXED: list[ast.Value] = [
    OPT("d", AND(I("build"), G([OR(REL("!=", I("os"), S("macos")), C("=", "disabled"))])))
]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({**SOLVE, "os": "linux"}, "d"),
        ({**SOLVE, "os": "macos"}, 'd {= "disabled"}'),
        ({k: v for k, v in SOLVE.items() if k != "os"}, 'd {= "disabled"}'),  # undefined leaf: false
        ({**SOLVE, "build": False}, "<empty>"),
    ],
)
def test_mixed_filter_and_constraint(env: dict[str, str | bool], expected: str) -> None:
    assert resolve(MIXED, env) == expected


def test_filter_or_constraint() -> None:
    f = [OPT("x", OR(I("with-test"), C(">=", "2")))]
    assert resolve(f, SOLVE) == 'x {>= "2"}'
    assert resolve(f, {**SOLVE, "with-test": True}) == "x"


# --------------------------------------------------------------------------------------------
# conflicts, kinds, names, errors


def test_conflicts_list_is_a_disjunction() -> None:
    r = formula_of_value(ast.List([S("a"), OPT("b", C("<", "2"))]), disjunction=True).resolve(SOLVE)
    assert isinstance(r, Or)
    assert str(r) == 'a | b {< "2"}'
    assert formula_of_value(ast.List([S("a")]), disjunction=True).resolve(SOLVE) == Atom("a")


def test_kinds() -> None:
    r = formula_of_value(
        ast.List([S("r"), OPT("b", I("build")), OPT("t", I("with-test")), OPT("p", I("post")),
                  OPT("d", I("with-doc")), OPT("v", I("dev"))]),
        disjunction=False,
    ).resolve({**SOLVE, "with-test": True, "with-doc": True, "dev": True})
    assert {a.name: a.kind for a in atoms_of(r)} == {
        "r": "runtime", "b": "build", "t": "test", "p": "post", "d": "doc", "v": "dev"}


def test_names_ignore_filters() -> None:
    f = formula_of_value(ast.List([OPT("a", I("with-test")), OR(S("b"), S("c"))]), disjunction=False)
    assert f.names() == frozenset({"a", "b", "c"})
    assert not f.is_empty()


def test_non_string_item_is_a_located_error() -> None:
    with pytest.raises(InvalidFormula) as e:
        formula_of_value(ast.List([ast.Ident("dune", pos=(3, 5))]), disjunction=False, filename="x.opam")
    assert "x.opam:3:5" in e.value.message
    assert e.value.hint


def test_vmatch_and_printing() -> None:
    vf = VAnd((VConstraint(">=", V("1")), VOr((VConstraint("<", V("2")), VConstraint("=", V("3"))))))
    assert str(vf) == '>= "1" & (< "2" | = "3")'
    assert [vmatch(vf, V(v)) for v in ["0", "1.5", "2", "3"]] == [False, True, False, True]
    assert vmatch(VTrue(), V("0"))
    assert str(Atom("x")) == "x"


# --------------------------------------------------------------------------------------------
# command-line atoms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dune", Atom("dune")),
        ("  dune ", Atom("dune")),
        ("dune.3.0", Atom("dune", VConstraint("=", V("3.0")))),
        ("dune=3.0", Atom("dune", VConstraint("=", V("3.0")))),
        ("dune>=3.0", Atom("dune", VConstraint(">=", V("3.0")))),
        ("dune<=3", Atom("dune", VConstraint("<=", V("3")))),
        ("dune>3", Atom("dune", VConstraint(">", V("3")))),
        ("dune<3", Atom("dune", VConstraint("<", V("3")))),
        ("dune!=3.1", Atom("dune", VConstraint("!=", V("3.1")))),
        ("ocaml-base-compiler.5.2.1", Atom("ocaml-base-compiler", VConstraint("=", V("5.2.1")))),
        ("ocaml-variants.5.5.0+introcaml", Atom("ocaml-variants", VConstraint("=", V("5.5.0+introcaml")))),
        ("conf-g++", Atom("conf-g++")),
        ("0install", Atom("0install")),
    ],
)
def test_parse_atom(text: str, expected: Atom) -> None:
    assert parse_atom(text) == expected


@pytest.mark.parametrize(
    "bad", ["", "dune.", "dune=", ">=1", "123", "dune>=1 2", "dune==1", "du ne", "dune:3"]
)
def test_parse_atom_errors(bad: str) -> None:
    with pytest.raises(InvalidAtom) as e:
        parse_atom(bad)
    assert e.value.hint
