"""Laws of the opam parser and printer.

* print then parse gives back the tree, for every tree the parser can produce;
* on any input at all the parser returns a tree or raises OpamSyntaxError located inside the
  input, never anything else;
* on random token soup it agrees with opam-file-format itself (one batch through the oracle).
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opamlock.opamfile import OpamSyntaxError, parse, print_file, print_value, to_json
from opamlock.opamfile.ast import (
    Bool,
    EnvBinding,
    Group,
    Ident,
    Int,
    Item,
    List,
    Logop,
    OpamFile,
    Option,
    Pfxop,
    PrefixRelop,
    Relop,
    Section,
    String,
    Value,
    Variable,
)

# --- trees the parser can produce -------------------------------------------------------------

_ID = r"[0-9_\-]*[A-Za-z][A-Za-z0-9_\-]*"
names = st.from_regex(rf"(?:{_ID}|_)(?:\+(?:{_ID}|_))*(?::{_ID})?", fullmatch=True).filter(
    lambda s: s not in ("true", "false", "_")
)
atoms: st.SearchStrategy[Value] = st.one_of(
    st.builds(String, st.text(max_size=12)),
    st.builds(Ident, names),
    st.builds(Int, st.integers(-(1 << 62), (1 << 62) - 1)),
    st.builds(Bool, st.booleans()),
)
relops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


def ends_with_bare_atom(v: Value) -> bool:
    while isinstance(v, Logop | Pfxop):
        v = v.right if isinstance(v, Logop) else v.value
    return isinstance(v, String | Ident | Int | Bool)


def starts_with_relop(v: Value) -> bool:
    while isinstance(v, Logop | Option):
        v = v.left if isinstance(v, Logop) else v.value
    return isinstance(v, PrefixRelop)


def sequence(vs: list[Value]) -> list[Value]:
    """Juxtaposed values as the parser would group them: ``a`` then ``>= "1"`` is one Relop."""
    out: list[Value] = []
    for v in vs:
        out.append(Group([v]) if out and ends_with_bare_atom(out[-1]) and starts_with_relop(v) else v)
    return out


pfxops = st.sampled_from(["!", "?"])
values: st.SearchStrategy[Value] = st.deferred(lambda: disjunction)
seqs = st.lists(values, max_size=3).map(sequence)
primary = st.one_of(
    atoms,
    st.builds(Relop, relops, atoms, atoms),
    st.builds(EnvBinding, st.sampled_from(["+=", "=+", "=+=", ":=", "=:"]), atoms, atoms),
    st.builds(PrefixRelop, relops, atoms),
    st.builds(List, seqs),
    st.builds(Group, seqs),
)
# Each level's operands come from the levels the grammar allows there (see opamfile._parser).
postfix: st.SearchStrategy[Value] = st.deferred(lambda: primary | st.builds(Option, postfix, seqs))
prefix: st.SearchStrategy[Value] = st.deferred(lambda: postfix | st.builds(Pfxop, pfxops, prefix))
conjunction: st.SearchStrategy[Value] = st.deferred(
    lambda: prefix | st.builds(Logop, st.just("&"), conjunction, prefix)
)
disjunction: st.SearchStrategy[Value] = st.deferred(
    lambda: conjunction | st.builds(Logop, st.just("|"), disjunction, conjunction)
)
items: st.SearchStrategy[Item] = st.deferred(
    lambda: st.builds(Variable, names, values)
    | st.builds(Section, names, st.none() | st.text(max_size=8), st.lists(items, max_size=3))
)
files = st.builds(OpamFile, st.lists(items, max_size=5))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files)
def test_print_then_parse_is_identity(f: OpamFile) -> None:
    assert parse(print_file(f)) == f


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_print_value_then_parse_is_identity(v: Value) -> None:
    assert parse("x: " + print_value(v)).field("x") == v


# --- only ever OpamSyntaxError, located inside the input --------------------------------------


def check_total(data: bytes | str) -> None:
    try:
        parse(data, "f")
    except OpamSyntaxError as e:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        lines = text.split("\n")
        assert 1 <= e.line <= len(lines), (e.line, len(lines))
        assert 1 <= e.col <= len(lines[e.line - 1]) + 1, (e.col, lines[e.line - 1])
        assert e.filename == "f" and e.message


TOKENS = [
    "a", "b:c", "x+y:z", "_", "-a", "1", "-2", "1_0", "true", '"s"', '"""t"""', '"\\q"', '"\\x4"', '"\\256"',
    "[", "]", "(", ")", "{", "}", ":", "=", "!=", "<=", "~", "&", "|", "!", "?", "+=", "=+=", ":=", "+", ".",
    "#c\n", "(*", "*)", " ", "\n", "\r\n", "\r", "\t", '"', "\\", "opam-version", '"2.0"', '"2.2"', "é",
    "\xff",
]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    check_total(data)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_token_soup(text: str) -> None:
    check_total(text)
    check_total(text.encode("utf-8", "surrogateescape"))
    check_total(text.replace("\xff", "\udcff"))  # a lone surrogate in a str


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
@pytest.mark.corpus
def test_mutated_corpus_files(snapshot_dir: Path, data: st.DataObject) -> None:
    corpus = _corpus_sample(snapshot_dir)
    original = corpus[data.draw(st.integers(0, len(corpus) - 1))]
    buf = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(buf)))
        kind = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = data.draw(st.sampled_from(INTERESTING_BYTES) | st.integers(0, 255))
        if kind == "insert":
            buf.insert(at, byte)
        elif buf:
            at = min(at, len(buf) - 1)
            if kind == "delete":
                del buf[at]
            else:
                buf[at] = byte
    check_total(bytes(buf))


INTERESTING_BYTES = list(b'"[]{}()\\:=!&|#*\n\r \xff-_0a')
_SAMPLE: list[bytes] = []


def _corpus_sample(repo: Path) -> list[bytes]:
    if not _SAMPLE:
        paths = sorted((repo / "packages").rglob("opam"))
        _SAMPLE.extend(p.read_bytes() for p in random.Random(0).sample(paths, 200))
    return _SAMPLE


# --- agreement with the reference on random input ---------------------------------------------


def _snippet(r: random.Random) -> str:
    if r.random() < 0.5:
        return "".join(r.choice(TOKENS[:-1]) + r.choice(["", " "]) for _ in range(r.randint(0, 25)))
    out = []
    if r.random() < 0.3:
        version = r.choice(["2.0", "2.1", "2.2", "3"])
        out.append(f'opam-version: "{version}"\n')
    for _ in range(r.randint(0, 4)):
        out.append(f"{r.choice(['a', 'depends', 'x:y'])}: {_value(r, 0)}\n")
    text = "".join(out)
    for _ in range(r.randint(0, 2)):  # a few random edits
        at = r.randint(0, len(text))
        text = text[:at] + r.choice(TOKENS[:-1]) + text[at + r.randint(0, 1):]
    return text


def _value(r: random.Random, depth: int) -> str:
    atom = r.choice(["a", '"s"', "1", "true", "b:c", "-3"])
    c = r.random()
    if depth > 3 or c < 0.3:
        return atom
    sub = " ".join(_value(r, depth + 1) for _ in range(r.randint(0, 3)))
    if c < 0.45:
        return f"[{sub}]"
    if c < 0.55:
        return f"({sub})"
    if c < 0.65:
        return f"{_value(r, depth + 1)} {{{sub}}}"
    if c < 0.75:
        return f"{_value(r, depth + 1)} {r.choice(['&', '|'])} {_value(r, depth + 1)}"
    if c < 0.82:
        return r.choice(["!", "?"]) + _value(r, depth + 1)
    if c < 0.9:
        op, right = r.choice(["=", "!=", "<", "+=", ":=", "=+="]), r.choice(["a", "1", '"v"'])
        return f"{atom} {op} {right}"
    return f"{r.choice(['>=', '<', '='])} {atom}"


@pytest.mark.oracle
def test_random_snippets_agree_with_reference(reference_parser: Path, tmp_path: Path) -> None:
    r = random.Random(20260822)
    sources = [_snippet(r) for _ in range(3000)]
    paths = []
    for i, src in enumerate(sources):
        p = tmp_path / f"f{i}"
        p.write_bytes(src.encode("utf-8"))
        paths.append(p)
    ref = subprocess.run(
        [str(reference_parser)], input="".join(f"{p}\n" for p in paths).encode(),
        capture_output=True, check=True,
    ).stdout.split(b"\n")[:-1]
    assert len(ref) == len(sources)
    disagree = []
    for src, p, line in zip(sources, paths, ref, strict=True):
        try:
            ours: bytes | None = to_json(parse(src, str(p))).encode("utf-8")
        except OpamSyntaxError:
            ours = None
        if (b'"ok":false' in line) != (ours is None) or (ours is not None and ours != line):
            disagree.append(src)
    accepted = sum(b'"ok":true' in line for line in ref)
    assert 0.2 * len(sources) < accepted < 0.8 * len(sources)  # both outcomes are well exercised
    assert disagree == []
