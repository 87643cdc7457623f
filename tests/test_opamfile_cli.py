"""``opamlock parse``: exit codes, output shapes, and no traceback on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from opamlock.cli import main

GOOD = 'opam-version: "2.0"\ndepends: ["ocaml" {>= "4.08"}]\nsynopsis: "caf\u00e9"\n'
BAD = 'opam-version: "2.0"\ndepends: [\n  "a" {>= "1"\n'


def run(*args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, ["parse", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


def test_pretty_prints_a_good_file(tmp_path: Path) -> None:
    p = tmp_path / "opam"
    p.write_text(GOOD, encoding="utf-8")
    code, out, err = run(str(p))
    assert code == 0 and err == ""
    assert out.decode() == 'opam-version: "2.0"\ndepends: [\n  "ocaml" {>= "4.08"}\n]\nsynopsis: "café"\n'


def test_json_lines_in_reference_shape(tmp_path: Path) -> None:
    p = tmp_path / "opam"
    p.write_text(GOOD, encoding="utf-8")
    code, out, _ = run("--json", str(p))
    assert code == 0
    line = out.decode("utf-8")
    assert line.endswith("\n") and line.count("\n") == 1
    doc = json.loads(line)
    assert doc["file"] == str(p) and doc["ok"] is True
    assert doc["items"][2] == {"var": "synopsis", "v": {"str": "café"}}
    assert "café".encode() in out  # raw UTF-8, as the reference prints it


def test_bad_file_exits_1_after_processing_all(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.opam", tmp_path / "bad.opam"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(BAD, encoding="utf-8")
    code, out, err = run(str(bad), str(good))
    assert code == 1
    assert "Traceback" not in err
    assert f"{bad}:3:14: unbalanced '{{' opened at 3:7" in err
    assert '    "a" {>= "1"\n' in err and "               ^" in err
    assert f"# ==> {good} <==".encode() in out  # the good file still printed


def test_bad_file_in_json_mode_keeps_one_line_per_file(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.opam", tmp_path / "bad.opam"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_bytes(b'x: "\xff"\n')
    code, out, err = run("--json", str(good), str(bad), str(tmp_path / "missing"))
    assert code == 1 and "Traceback" not in err
    docs = [json.loads(x) for x in out.decode().splitlines()]
    assert [d["ok"] for d in docs] == [True, False, False]
    assert docs[1]["error"].startswith(f"{bad}:1:5: byte 0xff is not valid UTF-8")
    assert "cannot read" in docs[2]["error"]


def test_no_files_is_a_usage_error() -> None:
    code, _, err = run()
    assert code == 2 and "Traceback" not in err
