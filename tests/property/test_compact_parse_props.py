"""Parsing straight to the compact encoding is parsing then encoding, on every input.

A repository load parses with :data:`opamlock.repository.compact.NODES` and never builds syntax
trees, so this law is what keeps the index faithful to :func:`opamlock.opamfile.parse`: the same
encoding for every file it accepts, the same error (message, line, column) for every file it
rejects. Checked on token soup, arbitrary bytes, mutated corpus files and (slow) every corpus file.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opamlock.opamfile import OpamSyntaxError, parse
from opamlock.repository import compact

TOKENS = [
    "a", "b:c", "x+y:z", "_", "-a", "1", "-2", "1_0", "true", '"s"', '"""t"""', '"\\q"', '"\\x4"', '"\\256"',
    "[", "]", "(", ")", "{", "}", ":", "=", "!=", "<=", "~", "&", "|", "!", "?", "+=", "=+=", ":=", "+", ".",
    "#c\n", "(*", "*)", " ", "\n", "\r\n", "\t", '"', "opam-version", '"2.0"', '"2.1"', '"2.2"', "é",
    "depends", "url", "src", "section \"n\"",
]


def same_outcome(data: bytes | str) -> None:
    try:
        expected: object = compact.encode(parse(data, "f"))
    except OpamSyntaxError as e:
        expected = (type(e), e.message, e.line, e.col, e.hint)
    try:
        got: object = compact.parse(data, "f")
    except OpamSyntaxError as e:
        got = (type(e), e.message, e.line, e.col, e.hint)
    assert got == expected


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_token_soup(text: str) -> None:
    same_outcome(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_arbitrary_bytes(data: bytes) -> None:
    same_outcome(data)


def test_future_format_and_repeated_version() -> None:
    # The two rare paths that build items outside the grammar: a broken file declaring a newer
    # format (the reference's "#" section), and the opam-version placement rules.
    for text in ('opam-version: "2.5"\nx: [', 'opam-version: "2.1"\nopam-version: "2.1"\n',
                 'x: "1"\nopam-version: "2.1"\n', 'opam-version: "2.0"\nx: "opam-version"\n',
                 'x { opam-version: "2.1" }\nopam-version: "2.0"\n'):
        same_outcome(text)


INTERESTING = list(b'"[]{}()\\:=!&|#*\n\r \xff-_0a')


@settings(max_examples=200, deadline=None)
@given(st.data())
@pytest.mark.corpus
def test_mutated_corpus_files(snapshot_dir: Path, data: st.DataObject) -> None:
    paths = _sample(snapshot_dir)
    buf = bytearray(paths[data.draw(st.integers(0, len(paths) - 1))])
    for _ in range(data.draw(st.integers(1, 4))):
        at = min(data.draw(st.integers(0, len(buf))), max(len(buf) - 1, 0))
        byte = data.draw(st.sampled_from(INTERESTING) | st.integers(0, 255))
        if data.draw(st.booleans()) or not buf:
            buf.insert(at, byte)
        else:
            buf[at] = byte
    same_outcome(bytes(buf))


_SAMPLE: list[bytes] = []


def _sample(repo: Path) -> list[bytes]:
    if not _SAMPLE:
        paths = sorted((repo / "packages").rglob("opam"))
        _SAMPLE.extend(p.read_bytes() for p in random.Random(1).sample(paths, 100))
    return _SAMPLE


@pytest.mark.corpus
@pytest.mark.slow
def test_every_corpus_file(snapshot_dir: Path, overlays_dir: Path) -> None:
    n = 0
    for repo in (snapshot_dir, overlays_dir):
        for p in sorted((repo / "packages").rglob("opam")):
            same_outcome(p.read_bytes())
            n += 1
    assert n > 18_000
