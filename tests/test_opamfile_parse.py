"""The opam parser: tree shapes and accept/reject decisions, rule by rule.

``fixtures/opamfile/reference_snippets.json`` holds, for each small source, what
opam-file-format's own parser answered (recorded with ../shared/oracles/opam_parse_json.ml);
``test_snippet_fixture_matches_live_reference`` re-checks that record against the live oracle.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from opamlock.opamfile import OpamSyntaxError, parse, parse_file, to_json
from opamlock.opamfile._parser import MAX_DEPTH, nopatch
from opamlock.opamfile.ast import (
    Bool,
    EnvBinding,
    Group,
    Ident,
    Int,
    List,
    Logop,
    Option,
    Pfxop,
    PrefixRelop,
    Relop,
    Section,
    String,
    Variable,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "opamfile"
SNIPPETS = json.loads((FIXTURES / "reference_snippets.json").read_text(encoding="utf-8"))
# Where opamlock deliberately rejects what opam accepts (documented in opamlock.opamfile).
DEVIATIONS = {"deep nesting": "nesting deeper", "opam-version 2.2 too deep": "nesting deeper"}


def value_of(src: str) -> object:
    """The value of the single field ``x`` in ``src``."""
    f = parse(src)
    assert len(f.items) == 1 and isinstance(f.items[0], Variable)
    return f.items[0].value


def within_input(text: str, line: int, col: int) -> bool:
    lines = text.split("\n")
    return 1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]) + 1


@pytest.mark.parametrize("case", SNIPPETS, ids=[c["name"] for c in SNIPPETS])
def test_reference_snippet(case: dict[str, object]) -> None:
    src = str(case["src"])
    if case["name"] in DEVIATIONS:
        with pytest.raises(OpamSyntaxError, match=DEVIATIONS[str(case["name"])]):
            parse(src, "F")
        return
    if case["ok"]:
        assert to_json(parse(src, "F")) == '{"file":"F","ok":true,"items":' + str(case["items"]) + "}"
    else:
        with pytest.raises(OpamSyntaxError) as info:
            parse(src, "F")
        e = info.value
        assert e.filename == "F"
        assert within_input(src, e.line, e.col), (e.line, e.col)


@pytest.mark.oracle
def test_snippet_fixture_matches_live_reference(reference_parser: Path, tmp_path: Path) -> None:
    paths = []
    for i, case in enumerate(SNIPPETS):
        p = tmp_path / f"s{i}"
        p.write_bytes(str(case["src"]).encode("utf-8"))
        paths.append(p)
    out = subprocess.run(
        [str(reference_parser)], input="".join(f"{p}\n" for p in paths).encode(),
        capture_output=True, check=True,
    ).stdout.decode("utf-8").splitlines()
    assert len(out) == len(SNIPPETS)
    for case, p, line in zip(SNIPPETS, paths, out, strict=True):
        prefix = '{"file":' + json.dumps(str(p)) + ',"ok":true,"items":'
        if case["ok"]:
            assert line == prefix + str(case["items"]) + "}", case["name"]
        else:
            assert '"ok":false' in line, case["name"]


# --- tree shapes, rule by rule ----------------------------------------------------------------


def test_atoms() -> None:
    assert value_of("x: true") == Bool(True)
    assert value_of("x: -12") == Int(-12)
    assert value_of("x: 1_000") == Int(1000)
    assert value_of('x: "s"') == String("s")
    for name in ("foo", "foo:installed", "a+b:enable", "_:version", "-a", "1a", "trueish"):
        assert value_of(f"x: {name}") == Ident(name)


def test_string_escapes() -> None:
    assert value_of(r'x: "\\ \" \' \n \r \t \b \ "') == String("\\ \" ' \n \r \t \b  ")
    assert value_of(r'x: "\065\x42\x6a"') == String("ABj")
    assert value_of(r'x: "\195\169"') == String("é")
    assert value_of('x: "a\\\n      b"') == String("ab")
    assert value_of('x: "a\r\nb\rc"') == String("a\nb\rc")
    assert value_of('x: """say "hi" \\"""!"""') == String('say "hi" """!')


def test_precedence() -> None:
    a, b, c, d = Ident("a"), Ident("b"), Ident("c"), Ident("d")
    assert value_of("x: a & b | c & d") == Logop("|", Logop("&", a, b), Logop("&", c, d))
    assert value_of("x: a | b | c") == Logop("|", Logop("|", a, b), c)
    assert value_of("x: !a & b") == Logop("&", Pfxop("!", a), b)
    assert value_of("x: !a {b}") == Pfxop("!", Option(a, [b]))
    assert value_of("x: a & b {c}") == Logop("&", a, Option(b, [c]))
    assert value_of("x: a {b} {c}") == Option(Option(a, [b]), [c])
    assert value_of("x: !a = b") == Pfxop("!", Relop("=", a, b))
    assert value_of("x: ?a") == Pfxop("?", a)
    assert value_of("x: !(a | b)") == Pfxop("!", Group([Logop("|", a, b)]))


def test_relational_forms() -> None:
    a, b, c = Ident("a"), Ident("b"), Ident("c")
    assert value_of("x: [a = b = c]") == List([Relop("=", a, b), PrefixRelop("=", c)])
    assert value_of("x: [(a) = b]") == List([Group([a]), PrefixRelop("=", b)])
    assert value_of('x: ["p" {>= "1" < "2"}]') == List(
        [Option(String("p"), [PrefixRelop(">=", String("1")), PrefixRelop("<", String("2"))])]
    )
    assert value_of('x: a ~ "1"') == Relop(">=", a, String("1"))  # opam-file-format 2.1's ``~``


def test_env_bindings() -> None:
    v = value_of('x: [[A += "1"] [A =+ "1"] [A =+= "1"] [A := "1"] [A =: "1"] [A = "1"]]')
    assert isinstance(v, List)
    ops = [x.items[0].op for x in v.items if isinstance(x, List)]  # type: ignore[union-attr]
    assert ops == ["+=", "=+", "=+=", ":=", "=:", "="]
    assert isinstance(v.items[0].items[0], EnvBinding)  # type: ignore[union-attr]
    assert isinstance(v.items[5].items[0], Relop)  # ``=`` is always a comparison  # type: ignore[union-attr]


def test_sections_and_fields() -> None:
    f = parse('opam-version: "2.0"\nurl {\n  src: "u"\n}\nextra-source "p.patch" {\n  src: "v"\n}\n')
    assert f.items[1] == Section("url", None, [Variable("src", String("u"))])
    assert f.items[2] == Section("extra-source", "p.patch", [Variable("src", String("v"))])
    assert [s.name for s in f.sections("extra-source")] == ["p.patch"]


def test_duplicate_fields_are_kept_and_last_wins() -> None:
    f = parse("a: 1\na: 2\n")
    assert [it.value for it in f.items if isinstance(it, Variable)] == [Int(1), Int(2)]
    assert f.field("a") == Int(2)


def test_comments() -> None:
    assert parse("x: (* a (* nested *) b *) 1 # trailing\n# last") == parse("x: 1")


def test_positions() -> None:
    f = parse('opam-version: "2.0"\ndepends: [\n  "a" {>= "1"} (* c *) b & !c\n]\n')
    dep = f.items[1]
    assert isinstance(dep, Variable) and dep.pos == (2, 1)
    lst = dep.value
    assert isinstance(lst, List) and lst.pos == (2, 10)
    opt, conj = lst.items
    assert isinstance(opt, Option) and opt.pos == (3, 3) and opt.args[0].pos == (3, 8)
    assert isinstance(conj, Logop) and conj.pos == (3, 24)
    assert isinstance(conj.right, Pfxop) and conj.right.pos == (3, 28)
    multi = parse('a: "x\ny"  b: 1')
    assert multi.items[1].pos == (2, 5)


def test_bytes_and_utf8() -> None:
    assert parse('x: "caf\u00e9"'.encode()) == parse('x: "café"')
    with pytest.raises(OpamSyntaxError) as info:
        parse(b'a: 1\nx: "ab\xff"\n')
    assert (info.value.line, info.value.col) == (2, 7)
    assert "not valid UTF-8" in info.value.message
    with pytest.raises(OpamSyntaxError, match="not UTF-8"):
        parse(b'x: "\\255"')  # opam accepts the byte; opamlock keeps strings as text


def test_nopatch() -> None:
    assert nopatch("2.0") == (2, 0)
    assert nopatch("2.1.3") == (2, 1)
    assert nopatch("3") == (3, 0)
    assert nopatch("3.") == (0, 0)
    assert nopatch("2.2x") == (2, 2)
    assert nopatch("2_2.2.0") == (22, 2)
    assert nopatch("x") == (0, 0)
    assert nopatch("3.4611686018427387904") == (3, -(1 << 62))
    assert nopatch("3.9223372036854775808") == (0, 0)
    assert nopatch("2.2x.0") == (0, 0)
    assert nopatch("2.2_.0") == (2, 2)


def test_future_format_errors_become_sentinel() -> None:
    f = parse('opam-version: "2.2"\nx: [\n')
    assert f.items == [Variable("opam-version", String("2.2")), Section("#", None, [])]


def test_deep_nesting_is_a_syntax_error() -> None:
    depth = MAX_DEPTH + 1
    for src in ("x: " + "[" * depth + "]" * depth, "x: " + "!" * (depth + 1) + "a",
                "a {\n" * depth + "}\n" * depth, "x: " + "(" * 5000):
        with pytest.raises(OpamSyntaxError) as info:
            parse(src)
        assert within_input(src, info.value.line, info.value.col)
    ok = MAX_DEPTH - 1
    assert parse("x: " + "[" * ok + "]" * ok)


def test_parse_file(tmp_path: Path) -> None:
    p = tmp_path / "opam"
    p.write_bytes(b'opam-version: "2.0"\n')
    assert parse_file(p).filename == str(p)
    p.write_bytes(b"x: [\n")
    with pytest.raises(OpamSyntaxError) as info:
        parse_file(p)
    assert info.value.filename == str(p)
