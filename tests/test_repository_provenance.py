"""Where a repository's content came from: the commit and commit time of git and git-archive sources.

The identity names the content; the commit and its time are carried beside it, through the index
cache, so that the lock can record commits and give builds their ``SOURCE_DATE_EPOCH``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import zlib
from pathlib import Path

import pytest

from opamlock.repository import _parse, _tar, load_repository
from opamlock.repository.source import GitSource

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
COMMIT_A = "0123456789abcdef0123456789abcdef01234567"
COMMIT_B = "89abcdef0123456789abcdef0123456789abcdef"
T_A = 1_700_000_000
T_B = 1_750_000_000
SNAPSHOT_COMMIT = "97014be61691efb695da5de8e860cba5d74fa1f5"
SNAPSHOT_TIME = 1787409630  # 2026-08-22 14:00:30 UTC, the commit's committer time


def git_archive_like(src: Path, dest: Path, *, comment: str | None, mtime: int, top: str = "repo") -> Path:
    """A tarball laid out as ``git archive`` writes it: pax global header, every member at ``mtime``."""
    buf = io.BytesIO()
    headers = {"comment": comment} if comment is not None else {}
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers=headers) as tf:

        def stamp(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.mtime = mtime
            return info

        tf.add(src, arcname=top, filter=stamp)
    dest.write_bytes(buf.getvalue())
    return dest


def _git(repo: Path, *args: str, date: int | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    if date is not None:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = f"@{date} +0000"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def _needs_git() -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")


def test_git_commit_reads_the_pax_comment_and_the_member_time(tmp_path: Path) -> None:
    tar = _tar.decompress(git_archive_like(FIXTURES / "base", tmp_path / "a.tar.gz",
                                           comment=COMMIT_A, mtime=T_A).read_bytes())
    assert _tar.git_commit(tar) == (COMMIT_A, T_A)


@pytest.mark.parametrize("comment", [None, "not a commit", COMMIT_A[:39], COMMIT_A.upper()])
def test_git_commit_is_none_for_other_archives(tmp_path: Path, comment: str | None) -> None:
    tar = _tar.decompress(git_archive_like(FIXTURES / "base", tmp_path / "a.tar.gz",
                                           comment=comment, mtime=T_A).read_bytes())
    assert _tar.git_commit(tar) is None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        tf.add(FIXTURES / "base", arcname="repo")
    assert _tar.git_commit(buf.getvalue()) is None
    assert _tar.git_commit(b"") is None


def test_a_git_archive_tarball_has_a_commit_kept_through_the_cache(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    a = git_archive_like(FIXTURES / "base", tmp_path / "a.tar.gz", comment=COMMIT_A, mtime=T_A)
    cold = load_repository(a, cache_dir=cache)
    assert (cold.commit, cold.commit_time) == (COMMIT_A, T_A)
    assert cold.identity.startswith("sha256:")  # the content stays the identity

    parsed: list[int] = []
    real = _parse.parse_all
    monkeypatch.setattr(_parse, "parse_all", lambda items, **kw: parsed.append(1) or real(items, **kw))
    warm = load_repository(a, cache_dir=cache)
    assert parsed == [] and (warm.commit, warm.commit_time) == (COMMIT_A, T_A)

    # Same content archived from another commit: same identity and index, its own commit.
    b = git_archive_like(FIXTURES / "base", tmp_path / "b.tar.gz", comment=COMMIT_B, mtime=T_B)
    other = load_repository(b, cache_dir=cache)
    assert other.identity == cold.identity and parsed == []
    assert (other.commit, other.commit_time) == (COMMIT_B, T_B)
    # Replacing an archive in place with another commit's is seen (the fingerprint changes).
    shutil.copyfile(b, a)
    assert load_repository(a, cache_dir=cache).commit == COMMIT_B

    plain = git_archive_like(FIXTURES / "base", tmp_path / "plain.tar.gz", comment=None, mtime=T_A)
    folder = load_repository(FIXTURES / "base", cache_dir=cache)
    for repo in (load_repository(plain, cache_dir=cache), folder):
        assert repo.identity == cold.identity
        assert (repo.commit, repo.commit_time) == (None, None)


def test_a_real_git_archive_names_its_commit(tmp_path: Path) -> None:
    _needs_git()
    work = tmp_path / "work"
    shutil.copytree(FIXTURES / "base", work)
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "one", date=T_A)
    head = _git(work, "rev-parse", "HEAD")
    archive = tmp_path / "snap.tar.gz"
    with archive.open("wb") as f:
        subprocess.run(["git", "archive", "--format=tar.gz", "--prefix=snap/", "HEAD"], cwd=work,
                       stdout=f, check=True)
    repo = load_repository(archive, cache_dir=tmp_path / "cache")
    assert (repo.commit, repo.commit_time) == (head, T_A)
    # A tree (not a commit) carries no commit: git archive writes no comment for it.
    tree = tmp_path / "tree.tar"
    with tree.open("wb") as f:
        subprocess.run(["git", "archive", "--format=tar", "HEAD^{tree}"], cwd=work, stdout=f, check=True)
    assert load_repository(tree, cache_dir=tmp_path / "cache").commit is None


def test_a_git_repository_has_its_commit_and_committer_time(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _needs_git()
    cache = tmp_path / "cache"
    work = tmp_path / "work"
    shutil.copytree(FIXTURES / "base", work)
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "one", date=T_A)
    first = _git(work, "rev-parse", "HEAD")
    (work / "packages/foo/foo.3.0").mkdir()
    (work / "packages/foo/foo.3.0/opam").write_text('opam-version: "2.0"\n')
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "two", date=T_B)
    second = _git(work, "rev-parse", "HEAD")

    old = load_repository(f"git+file://{work}", commit=first, cache_dir=cache)
    new = load_repository(f"git+file://{work}", cache_dir=cache)  # HEAD
    assert (old.commit, old.commit_time) == (first, T_A)
    assert (new.commit, new.commit_time) == (second, T_B)
    # The same checkout read as a folder is a working tree, which may differ from any commit.
    assert load_repository(work, cache_dir=cache).commit is None

    # A warm load reads the time from the index: no `git show`.
    def no_git_show(self: GitSource) -> object:
        raise AssertionError("the commit time should come from the index cache")

    monkeypatch.setattr(GitSource, "provenance", no_git_show)
    again = load_repository(f"git+file://{work}#{first}", cache_dir=cache)
    assert (again.commit, again.commit_time) == (first, T_A)


def _head(path: Path, size: int = 1 << 16) -> bytes:
    """The start of a gzipped archive, decompressed: enough for the headers before the first member."""
    d = zlib.decompressobj(wbits=31)
    with path.open("rb") as f:
        return d.decompress(f.read(size))


def test_the_snapshot_archive_names_its_commit(snapshot_tar: Path) -> None:
    assert _tar.git_commit(_head(snapshot_tar)) == (SNAPSHOT_COMMIT, SNAPSHOT_TIME)
    with tarfile.open(snapshot_tar) as tf:  # the member times are the commit time, as git archive sets
        first = [m.mtime for _, m in zip(range(20), tf, strict=False)]
    assert set(first) == {SNAPSHOT_TIME}


@pytest.mark.slow
def test_the_snapshot_loads_with_its_commit(snapshot_tar: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for _ in range(2):  # cold, then warm from the location record
        repo = load_repository(snapshot_tar, cache_dir=cache, progress=False)
        assert (repo.commit, repo.commit_time) == (SNAPSHOT_COMMIT, SNAPSHOT_TIME)
