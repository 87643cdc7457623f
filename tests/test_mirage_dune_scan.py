"""The source check: a small s-expression reader and the scan of a project's dune files."""

from __future__ import annotations

from pathlib import Path

import pytest

from opamlock.mirage.dune_scan import Atom, DuneSyntaxError, SExp, parse_sexps, scan_project
from opamlock.mirage.rules import default_rules

RULES = default_rules()


def test_reader_atoms_strings_comments_and_positions() -> None:
    forms = parse_sexps(
        '; line comment\n(library #| block #| nested |# |#\n (name "a b") #;(ignored x)\n (libraries x\\y))\n'
    )
    (lib,) = forms
    assert isinstance(lib, SExp) and lib.head() == "library" and (lib.line, lib.col) == (2, 1)
    name = lib.field("name")
    assert name is not None and name.items[1] == Atom("a b", 3, 8, quoted=True)
    libs = lib.field("libraries")
    assert libs is not None and [a.value for a in libs.items if isinstance(a, Atom)] == ["libraries", "x\\y"]
    assert lib.field("ignored") is None


@pytest.mark.parametrize("text", ["(library", "(a))", '(a "b', "#| never closed"])
def test_reader_errors_point_at_the_place(text: str) -> None:
    with pytest.raises(DuneSyntaxError) as e:
        parse_sexps(text, "src/dune")
    assert str(e.value).startswith("src/dune:1:")


def test_scan_reports_unix_libraries_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "dune").write_text(
        "(library\n (name core)\n (libraries lwt\n  lwt.unix fmt))\n\n"
        "(executable (name main) (libraries core threads.posix\n"
        "  (select x.ml from (unix -> x.unix.ml) (-> x.ml))))\n"
        "(rule (targets a) (action (run unix)))\n"
        "(library (name re) (libraries (re_export mirage-crypto-rng.unix)))\n"
    )
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "dune").write_text("(test (name t) (libraries unix))\n")
    (tmp_path / "_build").mkdir()
    (tmp_path / "_build" / "dune").write_text("(library (name z) (libraries unix))\n")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "dune").write_text("(library (name z) (libraries git-unix))\n")
    found = [(f.file, f.line, f.col, f.library, f.stanza) for f in scan_project(tmp_path, RULES)]
    assert found == [
        ("src/dune", 4, 3, "lwt.unix", "(library core)"),
        ("src/dune", 6, 41, "threads.posix", "(executable main)"),
        ("src/dune", 9, 42, "mirage-crypto-rng.unix", "(library re)"),
        ("vendor/dune", 1, 30, "git-unix", "(library z)"),
    ]
    rendered = scan_project(tmp_path, RULES)[0].render()
    assert rendered.startswith("error: src/dune:4:3: (library core) links lwt.unix")


def test_the_static_website_fixture_is_clean() -> None:
    root = Path(__file__).resolve().parents[1] / "fixtures" / "mirage" / "unikernels" / "static-website"
    assert scan_project(root, RULES) == []
