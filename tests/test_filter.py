"""Filter evaluation, one rule at a time, as ``OpamFilter.reduce`` defines it.

Trees are built with the AST node classes so that these tests depend on the evaluator only.
"""

from __future__ import annotations

import pytest

from opamlock.filter import FValue, and3, eval_bool, eval_filter, expand_string, lookup, or3, to_bool
from opamlock.opamfile import ast

B, S, I, G = ast.Bool, ast.String, ast.Ident, ast.Group  # noqa: E741


def AND(a: ast.Value, b: ast.Value) -> ast.Logop:
    return ast.Logop("&", a, b)


def OR(a: ast.Value, b: ast.Value) -> ast.Logop:
    return ast.Logop("|", a, b)


def NOT(a: ast.Value) -> ast.Pfxop:
    return ast.Pfxop("!", a)


def DEF(a: ast.Value) -> ast.Pfxop:
    return ast.Pfxop("?", a)


def REL(op: str, a: ast.Value, b: ast.Value) -> ast.Relop:
    return ast.Relop(op, a, b)  # type: ignore[arg-type]


ENV: dict[str, str | bool] = {
    "os": "linux", "arch": "x86_64", "build": True, "with-test": False, "name": "foo", "version": "1.2"
}
UNDEF = I("undefined-var")

# Literal operands for the absorption table: each is (node, what opam reduces it to).
OPERANDS: dict[str, ast.Value] = {
    "true": B(True),
    "false": B(False),
    "undef": UNDEF,
    '"true"': S("true"),
    '"false"': S("false"),
    '"foo"': S("foo"),
}


# --------------------------------------------------------------------------------------------
# atoms


def test_literals() -> None:
    assert eval_filter(B(True), ENV) is True
    assert eval_filter(S("x"), ENV) == "x"
    assert eval_filter(ast.Int(42), ENV) == "42"


def test_variables() -> None:
    assert eval_filter(I("os"), ENV) == "linux"
    assert eval_filter(I("build"), ENV) is True
    assert eval_filter(UNDEF, ENV) is None


def test_non_filter_values_are_undefined() -> None:
    assert eval_filter(ast.List([B(True)]), ENV) is None
    assert eval_filter(ast.PrefixRelop(">=", S("1")), ENV) is None


# --------------------------------------------------------------------------------------------
# & and |: opam's logop2 absorption table

AND_TABLE: dict[tuple[str, str], FValue] = {
    ("true", "true"): True,
    ("true", "false"): False,
    ("false", "true"): False,
    ("false", "false"): False,
    ("undef", "false"): False,  # false absorbs undefined, on either side
    ("false", "undef"): False,
    ("undef", "true"): None,
    ("true", "undef"): None,
    ("undef", "undef"): None,
    ('"true"', '"false"'): False,  # defined strings convert
    ('"true"', "true"): True,
    ("undef", '"false"'): None,  # only a real bool absorbs
    ('"false"', "undef"): None,
    ('"foo"', "false"): False,  # the absorbing bool wins before conversion
    ("false", '"foo"'): False,
    ('"foo"', "true"): None,  # a non-boolean string is an error: undefined
}

OR_TABLE: dict[tuple[str, str], FValue] = {
    ("true", "true"): True,
    ("true", "false"): True,
    ("false", "false"): False,
    ("undef", "true"): True,
    ("true", "undef"): True,
    ("undef", "false"): None,
    ("false", "undef"): None,
    ("undef", "undef"): None,
    ('"false"', '"true"'): True,
    ("undef", '"true"'): None,
    ('"foo"', "true"): True,
    ('"foo"', "false"): None,
}


@pytest.mark.parametrize(("pair", "expected"), sorted(AND_TABLE.items()))
def test_and_absorption(pair: tuple[str, str], expected: FValue) -> None:
    a, b = pair
    assert eval_filter(AND(OPERANDS[a], OPERANDS[b]), ENV) is expected


@pytest.mark.parametrize(("pair", "expected"), sorted(OR_TABLE.items()))
def test_or_absorption(pair: tuple[str, str], expected: FValue) -> None:
    a, b = pair
    assert eval_filter(OR(OPERANDS[a], OPERANDS[b]), ENV) is expected


def test_and3_or3_are_kleene_on_bools() -> None:
    vals: list[bool | None] = [True, False, None]
    for a in vals:
        for b in vals:
            assert and3(a, b) is AND_TABLE[(_name(a), _name(b))]
            assert or3(a, b) is OR_TABLE.get((_name(a), _name(b)), OR_TABLE.get((_name(b), _name(a))))


def _name(v: bool | None) -> str:
    return "undef" if v is None else ("true" if v else "false")


# --------------------------------------------------------------------------------------------
# ! and ?


def test_not() -> None:
    assert eval_filter(NOT(B(True)), ENV) is False
    assert eval_filter(NOT(S("false")), ENV) is True
    assert eval_filter(NOT(UNDEF), ENV) is None
    assert eval_filter(NOT(S("foo")), ENV) is None
    assert eval_filter(NOT(NOT(I("build"))), ENV) is True


def test_defined() -> None:
    assert eval_filter(DEF(UNDEF), ENV) is False
    assert eval_filter(DEF(I("os")), ENV) is True
    assert eval_filter(DEF(AND(UNDEF, B(False))), ENV) is True  # absorbed: defined
    assert eval_filter(DEF(AND(UNDEF, B(True))), ENV) is False
    assert eval_filter(DEF(AND(S("foo"), B(True))), ENV) is False  # conversion error
    assert eval_filter(DEF(REL("=", UNDEF, S("x"))), ENV) is False
    # An interpolation of an undefined variable expands to "": the string is defined.
    assert eval_filter(DEF(S("%{undefined-var}%")), ENV) is True
    assert eval_filter(DEF(NOT(DEF(UNDEF))), ENV) is True


def test_defined_makes_undefined_safe() -> None:
    # The idiom `?x & x = "v"`: false, not undefined, when x is missing.
    f = AND(DEF(UNDEF), REL("=", UNDEF, S("v")))
    assert eval_filter(f, ENV) is False
    assert eval_bool(NOT(f), ENV, default=False) is True


# --------------------------------------------------------------------------------------------
# relational operators


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        ("=", "linux", "linux", True),
        ("!=", "linux", "macos", True),
        ("<", "4.9", "4.10", True),  # versions, not strings
        (">=", "4.14.0", "4.14", True),
        ("=", "1.0", "1.00", True),
        ("<", "1.0~beta", "1.0", True),
        (">", "5.5.0+introcaml0", "5.5.0+introcaml", False),
        ("<=", "a", "b", True),
    ],
)
def test_relops_compare_as_versions(op: str, a: str, b: str, expected: bool) -> None:
    assert eval_filter(REL(op, S(a), S(b)), ENV) is expected


def test_relop_with_undefined_side_is_undefined() -> None:
    assert eval_filter(REL("=", UNDEF, S("x")), ENV) is None
    assert eval_filter(REL("!=", S("x"), UNDEF), ENV) is None


def test_bools_compare_as_their_strings() -> None:
    assert eval_filter(REL("=", I("build"), S("true")), ENV) is True
    assert eval_filter(REL("=", B(False), S("false")), ENV) is True
    assert eval_filter(REL("!=", I("with-test"), B(False)), ENV) is False


def test_relop_on_interpolated_string() -> None:
    assert eval_filter(REL("=", S("%{os}%-%{arch}%"), S("linux-x86_64")), ENV) is True


def test_ints_are_strings() -> None:
    assert eval_filter(REL(">=", I("v"), ast.Int(8)), {"v": "10"}) is True


# --------------------------------------------------------------------------------------------
# groups


def test_groups() -> None:
    assert eval_filter(G([I("os")]), ENV) == "linux"
    assert eval_filter(G([]), ENV) is True
    # opam rejects juxtaposed filters; opamlock reads them as a conjunction.
    assert eval_filter(G([B(True), B(False)]), ENV) is False
    assert eval_filter(G([B(True), UNDEF]), ENV) is None
    assert eval_filter(NOT(G([OR(B(False), I("build"))])), ENV) is False


# --------------------------------------------------------------------------------------------
# eval_bool: the use site's default


def test_eval_bool_defaults() -> None:
    assert eval_bool(UNDEF, ENV, default=False) is False
    assert eval_bool(UNDEF, ENV, default=True) is True
    assert eval_bool(S("foo"), ENV, default=False) is False
    assert eval_bool(S("true"), ENV, default=False) is True
    assert eval_bool(I("build"), ENV, default=False) is True


def test_to_bool() -> None:
    assert to_bool("true") is True and to_bool("false") is False
    assert to_bool("True") is None and to_bool("1") is None and to_bool(None) is None


# --------------------------------------------------------------------------------------------
# package variables


PKG_ENV: dict[str, str | bool] = {
    "os": "linux",
    "name": "foo",
    "version": "1.2",
    "foo:version": "1.2",
    "foo:installed": True,
    "bar:installed": False,
    "baz:installed": True,
    "str:installed": "true",
}


@pytest.mark.parametrize(
    ("ident", "expected"),
    [
        ("foo:version", "1.2"),
        ("_:version", "1.2"),  # the package itself, through <name>:version
        ("_:os", None),  # `_:` is the package scope, never the global variable
        ("other:version", None),
        ("foo+baz:installed", True),
        ("foo+bar:installed", False),
        ("bar+foo:installed", False),
        ("foo+missing:installed", None),
        ("missing+bar:installed", False),  # false sticks even after an undefined one
        ("missing+foo:installed", None),  # a literal true keeps the accumulator
        ("str+foo:installed", True),  # "true" converts
        ("foo:enable", "enable"),
        ("bar:enable", "disable"),
        ("missing:enable", "disable"),
    ],
)
def test_package_variables(ident: str, expected: FValue) -> None:
    assert lookup(ident, PKG_ENV) == expected
    assert eval_filter(I(ident), PKG_ENV) == expected


def test_self_scope_prefers_explicit_binding() -> None:
    assert lookup("_:version", {"_:version": "2", "name": "foo", "foo:version": "1"}) == "2"


# --------------------------------------------------------------------------------------------
# string interpolation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("%{os}%", "linux"),
        ("%{os}%-%{arch}%", "linux-x86_64"),
        ("pre-%{undefined-var}%-post", "pre--post"),  # undefined expands to ""
        ("%{build}%", "true"),
        ("%{with-test}%", "false"),
        ("%{build?yes:no}%", "yes"),
        ("%{with-test?yes:no}%", "no"),
        ("%{undefined-var?yes:no}%", "no"),  # undefined takes the false branch
        ("%{os?yes:no}%", "no"),  # a non-boolean string too
        ("%{foo:installed?--enable-foo:--disable-foo}%", "--enable-foo"),
        ("%{bar:enable}%-x", "disable-x"),
        ("100%% sure", "100% sure"),
        ("%{unclosed", "%{unclosed"),
        ("%{a}b}%", ""),  # the body is `a}b`, undefined
        ("%{_:version}%", "1.2"),
        ("%{foo+baz:installed}%", "true"),
    ],
)
def test_expand_string(text: str, expected: str) -> None:
    env = {**PKG_ENV, "arch": "x86_64", "build": True, "with-test": False}
    assert expand_string(text, env) == expected


def test_partial_expansion_keeps_what_is_unknown() -> None:
    env = {"os": "lin%ux"}
    text = "%{os}% %{later}% %{later?a:b}% 100%%"
    partial = expand_string(text, env, partial=True)
    assert partial == "lin%%ux %{later}% %{later?a:b}% 100%%"
    # Expanding the partial result later gives what one full expansion gives.
    full_env: dict[str, str | bool] = {"os": "lin%ux", "later": True}
    assert expand_string(partial, full_env) == expand_string(text, full_env) == "lin%ux true a 100%"


def test_variable_contents_are_expanded_too() -> None:
    assert eval_filter(I("x"), {"x": "%{os}%/lib", "os": "linux"}) == "linux/lib"
