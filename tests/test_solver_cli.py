"""``opamlock solve`` on a tiny opam repository folder: text and JSON output, flags, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main

REPO = Path(__file__).resolve().parents[1] / "fixtures" / "universes" / "tiny-repo"
LINUX = ["--var", "os=linux", "--var", "arch=x86_64"]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPAMLOCK_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # no opamlock.toml here: --repo is required

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, ["solve", *args])

    return invoke


def test_prints_sorted_name_version_lines(run) -> None:  # type: ignore[no-untyped-def]
    r = run("app", "--repo", str(REPO), *LINUX)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ["app.1.0", "lib.2"]


def test_platform_variable_and_with_test(run) -> None:  # type: ignore[no-untyped-def]
    r = run("app", "--repo", str(REPO), "--var", "os=macos", "--with-test")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ["app.1.0", "lib.3", "tool.1"]


def test_json(run) -> None:  # type: ignore[no-untyped-def]
    r = run("old", "app", "--repo", str(REPO), *LINUX, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"packages": [
        {"name": "app", "version": "0.9"}, {"name": "lib", "version": "1"}, {"name": "old", "version": "1"}]}


def test_impossible_request_exits_1_with_explanation(run) -> None:  # type: ignore[no-untyped-def]
    r = run("clash", "app", "--repo", str(REPO), *LINUX)
    assert r.exit_code == 1
    assert "cannot satisfy the request `clash app`" in r.output
    assert "conflicts with lib" in r.output
    assert "Traceback" not in r.output


def test_usage_errors_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    assert run("app").exit_code == 2  # no repository anywhere
    assert run("app", "--repo", str(REPO), "--var", "nonsense").exit_code == 2

