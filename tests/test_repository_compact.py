"""The index's compact tree encoding: decode(encode(t)) == t, positions included, and junk is refused."""

from __future__ import annotations

import marshal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opamlock.opamfile import ast
from opamlock.repository import compact

pos = st.tuples(st.integers(1, 10_000), st.integers(1, 500))
text = st.text(max_size=12)
ident = st.from_regex(r"[a-z_][a-z0-9_+:-]{0,8}", fullmatch=True)
relop = st.sampled_from(ast.RELOPS)


def values() -> st.SearchStrategy[ast.Value]:
    leaves = st.one_of(
        st.builds(ast.Bool, st.booleans(), pos),
        st.builds(ast.Int, st.integers(-(2**40), 2**40), pos),
        st.builds(ast.String, text, pos),
        st.builds(ast.Ident, ident, pos),
    )

    def extend(inner: st.SearchStrategy[ast.Value]) -> st.SearchStrategy[ast.Value]:
        items = st.lists(inner, max_size=4)
        return st.one_of(
            st.builds(ast.Relop, relop, inner, inner, pos),
            st.builds(ast.PrefixRelop, relop, inner, pos),
            st.builds(ast.Logop, st.sampled_from(["&", "|"]), inner, inner, pos),
            st.builds(ast.Pfxop, st.sampled_from(["!", "?"]), inner, pos),
            st.builds(ast.List, items, pos),
            st.builds(ast.Group, items, pos),
            st.builds(ast.Option, inner, items, pos),
            st.builds(ast.EnvBinding, st.sampled_from(ast.ENVOPS), inner, inner, pos),
        )

    return st.recursive(leaves, extend, max_leaves=12)


variables = st.builds(ast.Variable, ident, values(), pos)
sections = st.builds(ast.Section, ident, st.none() | text, st.lists(variables, max_size=3), pos)
files = st.builds(ast.OpamFile, st.lists(st.one_of(variables, sections), max_size=6))


def _positions(node: object) -> list[object]:
    """Every position in a tree (equality ignores them, so the law checks them separately)."""
    out: list[object] = []
    if isinstance(node, ast.OpamFile):
        for it in node.items:
            out += _positions(it)
        return out
    out.append(getattr(node, "pos", None))
    for slot in getattr(node, "__slots__", ()):
        v = getattr(node, slot)
        for child in v if isinstance(v, list) else [v]:
            if hasattr(child, "pos"):
                out += _positions(child)
    return out


@settings(max_examples=100, deadline=None)
@given(files)
def test_round_trip(f: ast.OpamFile) -> None:
    back = compact.loads(compact.dumps(f), "x/opam")
    assert back == f
    assert _positions(back) == _positions(f)
    assert back.filename == "x/opam"


@settings(max_examples=30, deadline=None)
@given(files)
def test_encoding_is_plain_data(f: ast.OpamFile) -> None:
    # marshal refuses anything but builtins, so this checks no node object leaks into the cache.
    assert marshal.loads(marshal.dumps(compact.encode(f))) == compact.encode(f)


@pytest.mark.parametrize("junk", [b"", b"\x00\x01garbage", marshal.dumps(5), marshal.dumps(((99, 1),)),
                                  marshal.dumps(((0,),))])
def test_junk_is_refused(junk: bytes) -> None:
    with pytest.raises(compact.CompactError):
        compact.loads(junk)


def test_positions_of_any_size_round_trip() -> None:
    # The column shares an int with the tag; huge columns and lines must stay exact.
    for line, col in ((1, 0), (0, 0), (70_000, 4_096), (3, 2**27 + 5), (2**40, 2**33)):
        f = ast.OpamFile([ast.Variable("x", ast.List([ast.String("s", (line, col + 1))], (line, col)),
                                       (line, col))])
        back = compact.loads(compact.dumps(f))
        assert _positions(back) == _positions(f)


# -- lazily decoded files -----------------------------------------------------------------------

SAMPLE = """opam-version: "2.0"
depends: ["ocaml" {>= "4.08"} "dune"]
url { src: "https://x/y.tgz" checksum: "md5=0" }
depends: ["later"]
extra-source "a" { src: "https://z" }
build: [["dune" "build"]]
"""


def lazy(text: str = SAMPLE) -> compact.LazyOpamFile:
    from opamlock.opamfile import parse

    return compact.loads_lazy(compact.dumps(parse(text, "s/opam")), "s/opam")


def test_lazy_fields_match_the_whole_tree() -> None:
    from opamlock.opamfile import parse

    tree = parse(SAMPLE, "s/opam")
    f = lazy()
    assert isinstance(f, ast.OpamFile)
    for name in ("depends", "build", "opam-version", "nothing"):
        assert f.field(name) == tree.field(name)
    assert f.field("depends") is f.field("depends")  # decoded once
    assert f.sections("url") == tree.sections("url")
    assert f.sections("extra-source") == tree.sections("extra-source")
    assert _positions(f.field("depends")) == _positions(tree.field("depends"))  # type: ignore[arg-type]
    assert f.filename == "s/opam"


def test_lazy_file_is_the_tree_everywhere_else() -> None:
    import copy
    import pickle

    from opamlock.opamfile import parse, print_file

    tree = parse(SAMPLE, "s/opam")
    f = lazy()
    assert f == tree and tree == f and not (f != tree)  # noqa: SIM202  (__ne__ too)
    assert repr(f) == repr(tree)
    assert print_file(f) == print_file(tree)
    assert type(pickle.loads(pickle.dumps(f))) is ast.OpamFile
    assert pickle.loads(pickle.dumps(f)) == tree
    assert copy.deepcopy(f) == tree
    # Once whole, fields come from the items.
    g = lazy()
    items = g.items
    assert g.field("depends") is items[3].value  # type: ignore[union-attr]
    assert g.sections("url") == [items[2]]
    g.items = items[:1]
    assert g.field("depends") is None and g != tree


def test_damage_in_a_lazy_field_is_a_user_error() -> None:
    from opamlock.errors import OpamlockError

    bad = marshal.dumps(((1 << 4 | 12, "depends", (14, "x", 1), 1),))  # a value with the unused tag 14
    f = compact.loads_lazy(bad)
    with pytest.raises(compact.CompactError) as e:
        f.field("depends")
    assert isinstance(e.value, OpamlockError) and e.value.hint
