"""Malformed opam files: each gives one located error with a message a person can act on."""

from __future__ import annotations

import pytest

from opamlock.errors import LocatedError
from opamlock.opamfile import OpamSyntaxError, parse

CASES = [
    # (source, line, col, message fragment)
    ('a: 1\nx: "abc\n', 2, 4, "unterminated string started here"),
    ('a: 1\nx: """abc""\n', 2, 4, "unterminated string started here"),
    ("x: [a [b]\n", 1, 10, "unbalanced '[' opened at 1:4: found end of file"),
    ("x: [a)\n", 1, 6, "unbalanced '[' opened at 1:4: found ')' before its ']'"),
    ("x: (a\n  b\n", 2, 4, "unbalanced '(' opened at 1:4"),
    ('x: ["a" {>= "1"]\n', 1, 16, "unbalanced '{' opened at 1:9: found ']'"),
    ('url {\n  src: "x"\n', 2, 11, "unbalanced '{' opened at 1:5: the section is not closed"),
    ('a: 1\nx: "\\q"\n', 2, 5, "illegal escape sequence"),
    ('a: 1\nx: "\\256"\n', 2, 5, "decimal escape above 255"),
    ('a: 1\nx: "ok" "\\x4"\n', 2, 10, "illegal escape sequence"),
    ("x: 1 (* a (* b *)\n", 1, 6, "unterminated comment started here"),
    ("x: a @ b\n", 1, 6, "'@' is not a valid token"),
    ("x: 1.2\n", 1, 5, "'.' is not a valid token"),
    ("x: a\r\ny: b\rz\n", 2, 5, "carriage return"),
    ("x: _\n", 1, 4, "invalid integer '_'"),
    ("x: 4611686018427387904\n", 1, 4, "does not fit in 63 bits"),
    ("x: a && b\n", 1, 7, "expected a value, found '&'"),
    ("x: [a = (b)]\n", 1, 9, "after '=', found '('"),
    ('a "b"\n', 1, 6, "expected '{' to open section a \"b\""),
    ("a b\n", 1, 3, "expected ':' after field name 'a'"),
    ("a: \n", 1, 4, "expected a value, found end of file"),
    ('a: "b" "c"\n', 1, 8, 'expected a field name, found string "c"'),
    ("x: 1\n}\n", 2, 1, "expected a field name, found '}'"),
    ("true: 1\n", 1, 1, "'true' is a boolean and cannot name a field"),
    ('x: 1\nopam-version: "2.1"\n', 2, 1, "opam-version must be the first non-comment line"),
    ('opam-version: "2.1"\nx: 1\nopam-version: "2.0"\n', 3, 1, "opam-version cannot be repeated"),
]


@pytest.mark.parametrize(("src", "line", "col", "fragment"), CASES, ids=[c[3] for c in CASES])
def test_located_error(src: str, line: int, col: int, fragment: str) -> None:
    with pytest.raises(OpamSyntaxError) as info:
        parse(src, "pkg.opam")
    e = info.value
    assert isinstance(e, LocatedError)
    assert fragment in e.message
    assert (e.filename, e.line, e.col) == ("pkg.opam", line, col)
    assert e.source_line == src.split("\n")[line - 1]
    assert str(e) == f"pkg.opam:{line}:{col}: {e.message}"


def test_rendering_has_caret_under_the_fault() -> None:
    with pytest.raises(OpamSyntaxError) as info:
        parse('depends: [\n  "a" {>= "1"\n]\n', "opam")
    assert info.value.render().splitlines()[:3] == [
        "opam:3:1: unbalanced '{' opened at 2:7: found ']' before its '}'",
        "  ]",
        "  ^",
    ]


def test_invalid_utf8_points_at_the_byte() -> None:
    with pytest.raises(OpamSyntaxError) as info:
        parse(b'a: 1\n# caf\xc3\xa9 \xe9\n', "opam")
    e = info.value
    assert (e.line, e.col) == (2, 8)
    assert "0xe9" in e.message
    assert e.hint is not None and "UTF-8" in e.hint
