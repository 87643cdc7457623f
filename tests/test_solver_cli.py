"""``opamlock solve`` on a tiny opam repository folder: text and JSON output, flags, exit codes; and the
project repositories that ``solve``, ``list``, ``show`` and ``audit`` read without ``--repo``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
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


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def pinned_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose opamlock.toml pins a git repository to an older commit than its HEAD."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path / "repo"
    shutil.copytree(REPO, work)
    _git(work, "init", "-q")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "A")
    pinned = _git(work, "rev-parse", "HEAD")
    newer = work / "packages" / "app" / "app.2.0"
    newer.mkdir()
    (newer / "opam").write_text('opam-version: "2.0"\n')
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "B")
    project = tmp_path / "project"
    project.mkdir()
    (project / "opamlock.toml").write_text(
        f'[[repository]]\nname = "pinned"\nurl = "git+file://{work}"\ncommit = "{pinned}"\n'
    )
    monkeypatch.setenv("OPAMLOCK_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(project)
    return project


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (["solve", "app", *LINUX], lambda out: out.splitlines() == ["app.1.0", "lib.2"]),
        (["list", "--all-versions"], lambda out: "app.1.0" in out.split() and "app.2.0" not in out),
        (["show", "app", "--json"],
         lambda out: (json.loads(out)["version"], json.loads(out)["repository"]) == ("1.0", "pinned")),
        (["audit", "app"], lambda out: "app.1.0" in out and "app.2.0" not in out),
    ],
    ids=["solve", "list", "show", "audit"],
)
def test_project_repositories_are_read_at_their_pinned_commit_and_name(
    pinned_project: Path, args: list[str], check: Callable[[str], bool]
) -> None:
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert check(r.stdout), r.stdout
