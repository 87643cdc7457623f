"""Git sources: a local repository, pinned commits, deterministic tarballs."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from opamlock.fetch import (
    ChecksumMismatch,
    DownloadFailed,
    FetchPlan,
    FetchSettings,
    GitCommit,
    Store,
    extract,
    fetch,
    make_item,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
FAST = FetchSettings(backoff_factor=0.001)


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    out = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository with two commits; returns (path, first commit, second commit)."""
    r = tmp_path / "upstream"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    (r / "hello.ml").write_text('let () = print_endline "hello"\n')
    (r / "bin").mkdir()
    (r / "bin" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (r / "bin" / "run.sh").chmod(0o755)
    git(r, "add", ".")
    git(r, "commit", "-q", "-m", "one")
    first = git(r, "rev-parse", "HEAD")
    (r / "hello.ml").write_text('let () = print_endline "bye"\n')
    git(r, "commit", "-q", "-am", "two")
    return r, first, git(r, "rev-parse", "HEAD")


def test_git_source_at_an_older_commit(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, first, _ = repo
    it = make_item("hello.dev", f"git+file://{path}#{first}", [])
    store = Store(tmp_path / "store")
    report = fetch(FetchPlan((it,)), store, settings=FAST)
    (res,) = report.results
    assert res.status == "downloaded"
    assert store.lookup([GitCommit(first)]) == store.lookup([GitCommit(first)]) is not None
    out = tmp_path / "src"
    extract(res.path, out, strip_top=True)
    assert (out / "hello.ml").read_text() == 'let () = print_endline "hello"\n'
    assert os.access(out / "bin" / "run.sh", os.X_OK)
    # Second run: present, keyed by the commit.
    again = fetch(FetchPlan((it,)), store, offline=True)
    assert again.results[0].status == "present"


def test_git_tarball_is_deterministic(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, _, second = repo
    it = make_item("hello.dev", f"git+file://{path}#{second}", [])
    hashes = set()
    for n in range(2):
        store = Store(tmp_path / f"store{n}")
        p = fetch(FetchPlan((it,)), store, settings=FAST).results[0].path
        hashes.add(hashlib.sha256(p.read_bytes()).hexdigest())
    assert len(hashes) == 1
    # A checksum recorded from one fetch verifies the next.
    (h,) = hashes
    checked = make_item("hello.dev", f"git+file://{path}#{second}", [f"sha256={h}"])
    res = fetch(FetchPlan((checked,)), Store(tmp_path / "store2"), settings=FAST).results[0]
    assert res.status == "downloaded"


def test_git_checksum_mismatch(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, first, _ = repo
    it = make_item("hello.dev", f"git+file://{path}#{first}", ["sha256=" + "0" * 64])
    with pytest.raises(ChecksumMismatch, match=r"hello\.dev"):
        fetch(FetchPlan((it,)), Store(tmp_path / "s"), settings=FAST)


def test_unknown_commit_fails_cleanly(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    path, _, _ = repo
    it = make_item("hello.dev", f"git+file://{path}#{'f' * 40}", [])
    with pytest.raises(DownloadFailed, match="git"):
        fetch(FetchPlan((it,)), Store(tmp_path / "s"), settings=FAST)
