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
