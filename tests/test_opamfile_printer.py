"""The printer: opam's usual layout, exact quoting, and parentheses where precedence needs them."""

from __future__ import annotations

import pytest

from opamlock.opamfile import parse, print_file, print_value
from opamlock.opamfile.ast import (
    EnvBinding,
    Group,
    Ident,
    Int,
    List,
    Logop,
    OpamFile,
    Option,
    Pfxop,
    PrefixRelop,
    Relop,
    String,
    Variable,
)
from opamlock.opamfile.printer import quote

SAMPLE = '''opam-version: "2.0"
synopsis: "A \\"quoted\\" word"
description: """
Two lines,
with a \\\\ backslash."""
depends: [
  "ocaml" {>= "4.08" & < "5.0"}
  "dune" {>= "3.0"}
  ("a" | "b" {with-test})
]
build: [
  ["dune" "subst"] {dev}
  ["dune" "build" "-p" name "-j" jobs]
]
tags: ["a" "b"]
available: !(os = "win32") & arch != "arm32"
setenv: [
  [PATH += "x"]
  [A =+= "y"]
]
url {
  src: "https://example.org/a.tgz"
  checksum: ["sha256=00"]
}
'''


def test_sample_prints_as_written_and_reparses() -> None:
    f = parse(SAMPLE)
    assert print_file(f) == SAMPLE
    assert parse(print_file(f)) == f


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("", '""'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("a\r\nb", '"a\\r\nb"'),
        ("tab\there", '"tab\there"'),
        ("bell\x07", '"bell\\x07"'),
        ("café ✓", '"café ✓"'),
    ],
)
def test_quote(text: str, printed: str) -> None:
    assert quote(text) == printed
    assert parse(f"x: {printed}").field("x") == String(text)


@pytest.mark.parametrize("text", ['a"', '""', 'x"""y', '""""', "a\\", "\n\r", 'q"\n'])
def test_triple_quote_round_trip(text: str) -> None:
    assert parse(f"x: {quote(text, triple=True)}").field("x") == String(text)


def test_parenthesises_where_precedence_needs_it() -> None:
    a, b, c = Ident("a"), Ident("b"), Ident("c")
    assert print_value(Logop("|", a, Logop("|", b, c))) == "a | (b | c)"
    assert print_value(Logop("&", Logop("|", a, b), c)) == "(a | b) & c"
    assert print_value(Pfxop("!", Logop("&", a, b))) == "!(a & b)"
    assert print_value(Option(Logop("&", a, b), [c])) == "(a & b) {c}"
    assert print_value(Option(Pfxop("!", a), [c])) == "(!a) {c}"
    # Meaning is kept: the parentheses come back as a Group.
    assert parse("x: " + print_value(Logop("|", a, Logop("|", b, c)))).field("x") == Logop(
        "|", a, Group([Logop("|", b, c)])
    )


def test_juxtaposition_hazards() -> None:
    a = Ident("a")
    lst = List([a, PrefixRelop(">=", String("1"))])
    assert print_value(lst) == '[a (>= "1")]'  # not ``[a >= "1"]``, one comparison
    assert print_value(Pfxop("!", PrefixRelop("=", a))) == "! = a"  # not ``!=``
    assert parse("x: " + print_value(Pfxop("!", PrefixRelop("=", a)))).field("x") == Pfxop(
        "!", PrefixRelop("=", a)
    )


def test_operands_must_be_atoms() -> None:
    with pytest.raises(ValueError, match="operand"):
        print_value(Relop("=", List([]), Ident("a")))
    with pytest.raises(ValueError, match="operand"):
        print_value(PrefixRelop("=", Group([])))


def test_env_binding_equals_reads_back_as_comparison() -> None:
    printed = print_value(EnvBinding("=", Ident("A"), String("x")))
    assert printed == 'A = "x"'
    assert parse(f"x: [{printed}]").field("x") == List([Relop("=", Ident("A"), String("x"))])


def test_negative_ints_and_layout_of_long_lists() -> None:
    f = OpamFile([Variable("x", List([Int(1), Int(-2)])), Variable("y", List([String("s" * 90)]))])
    text = print_file(f)
    assert text == 'x: [\n  1\n  -2\n]\ny: [\n  "' + "s" * 90 + '"\n]\n'
    assert parse(text) == f
