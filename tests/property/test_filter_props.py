"""Laws of three-valued filter evaluation and of formula resolution (hypothesis).

* On bool-or-undefined operands, ``&``/``|`` are Kleene's strong connectives (``and3``/``or3``),
  commutative, and obey De Morgan through ``!``.
* Absorption holds for *any* operand: ``x & false`` is false, ``x | true`` is true.
* ``?e`` is never undefined, and is false exactly when ``e`` is undefined.
* Evaluation is monotone: defining a variable that was undefined never changes a defined result.
* Pushing ``!`` into a version formula agrees with evaluating the negated constraint directly.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from opamlock.filter import and3, eval_bool, eval_filter, or3, to_bool
from opamlock.formula import Atom, formula_of_value
from opamlock.opamfile import ast
from opamlock.version import OpamVersion, compare_versions

BOOL_VARS = ["a", "b", "c"]
UNDEF_VARS = ["u", "w"]
ENV: dict[str, str | bool] = {"a": True, "b": False, "c": True, "s": "linux", "n": "1.2"}

# Leaves that reduce to a bool or to undefined.
bool_leaf = st.one_of(
    st.builds(ast.Bool, st.booleans()),
    st.sampled_from(BOOL_VARS + UNDEF_VARS).map(ast.Ident),
)
# Leaves that may also reduce to strings (version-like, boolean-like, or neither).
any_leaf = st.one_of(
    bool_leaf,
    st.sampled_from(["true", "false", "foo", "1.0", "%{s}%", "%{u}%"]).map(ast.String),
    st.sampled_from(["s", "n"]).map(ast.Ident),
)


def _filters(leaf: st.SearchStrategy[ast.Value], relops: bool) -> st.SearchStrategy[ast.Value]:
    def extend(children: st.SearchStrategy[ast.Value]) -> st.SearchStrategy[ast.Value]:
        options = [
            st.builds(ast.Logop, st.sampled_from(["&", "|"]), children, children),
            st.builds(ast.Pfxop, st.just("!"), children),
            st.builds(lambda x: ast.Group([x]), children),
        ]
        if relops:
            options.append(st.builds(ast.Pfxop, st.just("?"), children))
            options.append(st.builds(ast.Relop, st.sampled_from(["=", "!=", "<", ">="]), children, children))
        return st.one_of(*options)

    return st.recursive(leaf, extend, max_leaves=8)


bool_filters = _filters(bool_leaf, relops=False)
any_filters = _filters(any_leaf, relops=True)


@given(bool_filters, bool_filters)
def test_connectives_are_kleene_on_bools(x: ast.Value, y: ast.Value) -> None:
    vx, vy = eval_filter(x, ENV), eval_filter(y, ENV)
    assert vx is None or isinstance(vx, bool)
    assert eval_filter(ast.Logop("&", x, y), ENV) is and3(vx, vy)  # type: ignore[arg-type]
    assert eval_filter(ast.Logop("|", x, y), ENV) is or3(vx, vy)  # type: ignore[arg-type]


@given(bool_filters, bool_filters)
def test_commutative_on_bools(x: ast.Value, y: ast.Value) -> None:
    for op in ("&", "|"):
        assert eval_filter(ast.Logop(op, x, y), ENV) is eval_filter(ast.Logop(op, y, x), ENV)


@given(bool_filters, bool_filters)
def test_de_morgan(x: ast.Value, y: ast.Value) -> None:
    def n(v: ast.Value) -> ast.Value:
        return ast.Pfxop("!", v)

    assert eval_filter(n(ast.Logop("&", x, y)), ENV) is eval_filter(ast.Logop("|", n(x), n(y)), ENV)
    assert eval_filter(n(ast.Logop("|", x, y)), ENV) is eval_filter(ast.Logop("&", n(x), n(y)), ENV)
    assert eval_filter(n(n(x)), ENV) is eval_filter(x, ENV)


@given(any_filters)
def test_absorption_for_any_operand(x: ast.Value) -> None:
    f, t = ast.Bool(False), ast.Bool(True)
    assert eval_filter(ast.Logop("&", x, f), ENV) is False
    assert eval_filter(ast.Logop("&", f, x), ENV) is False
    assert eval_filter(ast.Logop("|", x, t), ENV) is True
    assert eval_filter(ast.Logop("|", t, x), ENV) is True


@given(any_filters)
def test_defined_is_never_undefined(x: ast.Value) -> None:
    d = eval_filter(ast.Pfxop("?", x), ENV)
    assert isinstance(d, bool)
    assert d == (eval_filter(x, ENV) is not None)


@given(any_filters)
def test_results_are_bool_string_or_undefined_and_eval_bool_uses_default(x: ast.Value) -> None:
    v = eval_filter(x, ENV)
    assert v is None or isinstance(v, bool | str)
    b = to_bool(v)
    assert eval_bool(x, ENV, default=True) == (True if b is None else b)
    assert eval_bool(x, ENV, default=False) == (False if b is None else b)


@given(bool_filters, st.booleans(), st.booleans())
def test_monotone_in_definedness(x: ast.Value, u: bool, w: bool) -> None:
    before = eval_filter(x, ENV)
    after = eval_filter(x, {**ENV, "u": u, "w": w})
    if before is not None:
        assert after is before


# --------------------------------------------------------------------------------------------
# Formulas: negation pushing against direct evaluation

VERSIONS = ["0.9", "1", "1.0", "1.5", "2", "2.0~rc1", "3"]
constraint = st.builds(
    lambda op, v: ast.PrefixRelop(op, ast.String(v)),
    st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
    st.sampled_from(VERSIONS),
)
# Defined filter leaves only, so that direct evaluation is plain two-valued logic.
cond_leaf = st.one_of(
    constraint, st.builds(ast.Bool, st.booleans()), st.sampled_from(BOOL_VARS).map(ast.Ident)
)
conditions = st.recursive(
    cond_leaf,
    lambda ch: st.one_of(
        st.builds(ast.Logop, st.sampled_from(["&", "|"]), ch, ch),
        st.builds(ast.Pfxop, st.just("!"), ch),
        st.builds(lambda x: ast.Group([x]), ch),
    ),
    max_leaves=7,
)


def _direct(c: ast.Value, version: str) -> bool:
    """The condition evaluated for one version, with ``!`` taken literally (no pushing)."""
    if isinstance(c, ast.PrefixRelop):
        assert isinstance(c.value, ast.String)
        k = compare_versions(version, c.value.value)
        return {"=": k == 0, "!=": k != 0, "<": k < 0, "<=": k <= 0, ">": k > 0, ">=": k >= 0}[c.op]
    if isinstance(c, ast.Logop):
        if c.op == "&":
            return _direct(c.left, version) and _direct(c.right, version)
        return _direct(c.left, version) or _direct(c.right, version)
    if isinstance(c, ast.Pfxop):
        return not _direct(c.value, version)
    if isinstance(c, ast.Group):
        return all(_direct(i, version) for i in c.items)
    b = eval_filter(c, ENV)
    assert isinstance(b, bool)
    return b


@settings(max_examples=400)
@given(conditions, st.sampled_from([*VERSIONS, "0", "1.2", "2.5", "10"]))
def test_resolution_agrees_with_direct_evaluation(cond: ast.Value, version: str) -> None:
    for c in (cond, ast.Pfxop("!", ast.Group([cond]))):
        r = formula_of_value(ast.List([ast.Option(ast.String("x"), [c])]), disjunction=False).resolve(ENV)
        if r is None:
            # Dropped: the filters alone make the condition false, whatever the version.
            assert not any(_direct(c, v) for v in [*VERSIONS, version])
        else:
            assert isinstance(r, Atom)
            assert r.matches(OpamVersion(version)) == _direct(c, version)
