"""The repositories that ``solve``, ``list``, ``show`` and ``audit`` read without ``--repo``: the
project's, each under its configured name and at its pinned commit, with the project's ``[mirage]``
overrides for ``audit``."""

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


def test_audit_applies_the_project_mirage_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    for nv, body in {"conf-gmp.1": 'depexts: ["libgmp-dev"]', "zarith.1": 'depends: ["conf-gmp"]'}.items():
        d = repo / "packages" / nv.partition(".")[0] / nv
        d.mkdir(parents=True)
        (d / "opam").write_text('opam-version: "2.0"\n' + body + "\n")
    project = tmp_path / "project"
    project.mkdir()
    config = '[[repository]]\nname = "r"\npath = "../repo"\n'
    (project / "opamlock.toml").write_text(config)
    monkeypatch.setenv("OPAMLOCK_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(project)
    r = CliRunner().invoke(main, ["audit", "zarith"])
    assert r.exit_code == 1 and "zarith.1: incompatible" in r.stdout, r.output
    (project / "opamlock.toml").write_text(config + '[mirage.allow]\n"conf-gmp" = "linked statically"\n')
    r = CliRunner().invoke(main, ["audit", "zarith"])
    assert r.exit_code == 0 and "zarith.1: compatible" in r.stdout, r.output
