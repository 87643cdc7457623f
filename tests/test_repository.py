"""Loading repositories end to end: folder, archive and git; identities; the index cache."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opamlock.repository import (
    RepositoryError,
    RepositoryParseError,
    Universe,
    _parse,
    load_repository,
    load_universe,
)
from opamlock.version import OpamVersion

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the files parsed: zero on a cache hit."""
    calls: list[int] = []
    real = _parse.parse_all

    def counting(items, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(items))
        return real(items, **kw)

    monkeypatch.setattr(_parse, "parse_all", counting)
    yield calls


def _tarball(src: Path, dest: Path, top: str) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(src, arcname=top)
    dest.write_bytes(buf.getvalue())
    return dest


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_load_folder(cache: Path) -> None:
    repo = load_repository(FIXTURES / "base", cache_dir=cache)
    assert repo.name == "base" and repo.kind == "dir"
    assert repo.location == str(FIXTURES / "base")
    assert repo.identity.startswith("sha256:")
    assert repo.names() == ("Baz", "baa", "bar", "foo", "ocaml")
    assert repo.version_strings("bar") == ("0.9", "1.0+a")
    assert repo.version_strings("ocaml") == ("4.14.2", "5.2.0")
    foo = repo.package("foo", "1.0")
    assert foo.repository == "base"
    assert foo.text_field("synopsis") == "Foo, first release"
    assert foo.opam.filename.endswith("packages/foo/foo.1.0/opam")
    opam_bytes = repo.opam_bytes("foo", "1.0")
    assert opam_bytes == (FIXTURES / "base/packages/foo/foo.1.0/opam").read_bytes()
    import hashlib

    assert foo.opam_hash == "sha256:" + hashlib.sha256(opam_bytes).hexdigest()
    patch = (FIXTURES / "base/packages/foo/foo.1.0/files/fix.patch").read_bytes()
    assert repo.files("foo", "1.0") == (("fix.patch", hashlib.sha256(patch).hexdigest()),)
    assert repo.files("foo", "2.0") == ()
    assert repo.package("foo", "2.0").flags == frozenset({"avoid-version"})
    assert repo.package("foo", OpamVersion("1.0")) is foo  # decoded once
    assert [(c.kept, c.dropped) for c in repo.collisions] == [("1.0+a", "1.0+a0")]
    assert repo.problems == ()


def test_tarball_and_folder_agree(cache: Path, tmp_path: Path) -> None:
    archive = _tarball(FIXTURES / "base", tmp_path / "base-snapshot.tar.gz", "opam-repository")
    t = load_repository(archive, cache_dir=cache)
    d = load_repository(FIXTURES / "base", cache_dir=cache)
    assert t.kind == "tar" and t.name == "base-snapshot"
    assert t.identity == d.identity
    assert t.names() == d.names()
    assert t.package("foo", "1.0").opam == d.package("foo", "1.0").opam
    assert t.files("foo", "1.0") == d.files("foo", "1.0")


def test_git_at_a_commit(cache: Path, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path / "work"
    shutil.copytree(FIXTURES / "base", work)
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "one")
    first = _git(work, "rev-parse", "HEAD")
    (work / "packages/foo/foo.3.0").mkdir()
    (work / "packages/foo/foo.3.0/opam").write_text('opam-version: "2.0"\n')
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "two")
    old = load_repository(f"git+file://{work}", commit=first, cache_dir=cache)
    assert old.identity == f"git:{first}"
    assert old.version_strings("foo") == ("1.0", "2.0")
    new = load_repository(f"git+file://{work}", cache_dir=cache)  # HEAD
    assert new.version_strings("foo") == ("1.0", "2.0", "3.0")
    assert new.identity == "git:" + _git(work, "rev-parse", "HEAD")
    # The same commit through a plain path and a #fragment.
    again = load_repository(work, commit=first[:10], cache_dir=cache)
    assert again.identity == old.identity and again.kind == "git"
    assert load_repository(f"git+file://{work}#{first}", cache_dir=cache).identity == old.identity
    # The files/ folder comes through git archive too.
    assert old.files("foo", "1.0") == load_repository(FIXTURES / "base", cache_dir=cache).files("foo", "1.0")
    with pytest.raises(RepositoryError):
        load_repository(f"git+file://{work}", commit="0" * 40, cache_dir=cache)


def test_cache_hit_miss_and_invalidation(cache: Path, tmp_path: Path, parses: list[int]) -> None:
    repo_dir = tmp_path / "r"
    shutil.copytree(FIXTURES / "base", repo_dir)
    a = load_repository(repo_dir, cache_dir=cache)
    assert len(parses) == 1
    b = load_repository(repo_dir, cache_dir=cache)
    assert len(parses) == 1  # warm: nothing parsed
    assert b.identity == a.identity and b.names() == a.names()
    assert b.package("foo", "1.0").opam == a.package("foo", "1.0").opam
    # Same content elsewhere: found by identity, still not parsed again.
    copy = tmp_path / "copy"
    shutil.copytree(repo_dir, copy)
    assert load_repository(copy, cache_dir=cache).identity == a.identity
    assert len(parses) == 1
    # An edit changes the identity and the answer.
    opam = repo_dir / "packages/foo/foo.2.0/opam"
    opam.write_text(opam.read_text().replace("Foo from the base repository", "edited"))
    c = load_repository(repo_dir, cache_dir=cache)
    assert len(parses) == 2
    assert c.identity != a.identity
    assert c.package("foo", "2.0").text_field("synopsis") == "edited"
    # A new package shows up.
    (repo_dir / "packages/foo/foo.9").mkdir()
    (repo_dir / "packages/foo/foo.9/opam").write_text('opam-version: "2.0"\n')
    assert load_repository(repo_dir, cache_dir=cache).version_strings("foo") == ("1.0", "2.0", "9")


def test_corrupt_or_truncated_cache_is_rebuilt(cache: Path, parses: list[int]) -> None:
    first = load_repository(FIXTURES / "base", cache_dir=cache)
    first_tree = first.package("foo", "1.0").opam
    (idx,) = cache.glob("*.idx")
    good = idx.read_bytes()
    for bad in (good[: len(good) // 2], good[:8] + b"\xff" * 64 + good[72:], b"", b"junk"):
        idx.write_bytes(bad)
        again = load_repository(FIXTURES / "base", cache_dir=cache)
        assert again.identity == first.identity
        assert again.package("foo", "1.0").opam == first_tree
    assert len(parses) == 5
    load_repository(FIXTURES / "base", cache_dir=cache)
    assert len(parses) == 5  # the rebuilt file is good again
    for loc in cache.glob("*.loc"):
        loc.write_bytes(b"\x00garbage")
    load_repository(FIXTURES / "base", cache_dir=cache)
    assert len(parses) == 5  # a bad location record costs a re-hash, not a re-parse


def test_cache_write_is_atomic_and_leaves_no_temporaries(cache: Path) -> None:
    load_repository(FIXTURES / "base", cache_dir=cache)
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


def test_unwritable_cache_still_loads(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    repo = load_repository(FIXTURES / "base", cache_dir=blocker / "cache")
    assert repo.package("foo", "1.0").text_field("synopsis") == "Foo, first release"


def test_parse_errors_are_located_and_reported(cache: Path) -> None:
    repo = load_repository(FIXTURES / "broken", cache_dir=cache)
    assert repo.names() == ("ok",)
    rendered = [p.render() for p in repo.problems]
    located = [r for r in rendered if "packages/bad/bad.1/opam:" in r]
    assert located and located[0].split("opam:")[1][0].isdigit(), rendered
    bad = next(p for p in repo.problems if "bad.1" in p.path)
    assert bad.line >= 3 and bad.col >= 1
    assert any("notapackage" in r for r in rendered)
    with pytest.raises(RepositoryParseError) as e:
        load_repository(FIXTURES / "broken", cache_dir=cache, strict=True)
    assert "bad.1/opam" in str(e.value)


def test_load_universe_layers_overlay_first(cache: Path) -> None:
    u = load_universe([FIXTURES / "overlay", FIXTURES / "base"], cache_dir=cache)
    assert isinstance(u, Universe)
    assert [r.name for r in u.repositories] == ["overlay", "base"]
    assert u.version_strings("foo") == ["1.0", "2.0", "2.0+dune"]
    assert u.package("foo", "2.0").text_field("synopsis") == "Foo from the overlay"
    assert u.package("foo", "2.0").repository == "overlay"
    assert u.package("foo", "1.0").repository == "base"
    assert u.files("foo", "1.0")[0][0] == "fix.patch"
    assert u.opam_bytes("foo", "2.0") == (FIXTURES / "overlay/packages/foo/foo.2.0/opam").read_bytes()
    with pytest.raises(RepositoryError):
        load_universe([], cache_dir=cache)


@pytest.mark.slow
def test_full_snapshot_and_overlays(snapshot_tar: Path, overlays_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    repo = load_repository(snapshot_tar, cache_dir=cache, progress=False)
    assert repo.problems == ()  # every one of the 18,793 files parses
    assert len(repo) + len(repo.collisions) == 18793
    assert [(c.name, c.kept, c.dropped) for c in repo.collisions] == [
        ("ocaml-variants", "5.5.0+introcaml", "5.5.0+introcaml0")
    ]
    warm = load_repository(snapshot_tar, cache_dir=cache)
    assert warm.identity == repo.identity
    # The cached trees are the parser's trees (every 97th package, from the warm index).
    from opamlock.opamfile import parse

    for i, name in enumerate(warm.names()):
        if i % 97 == 0:
            for v in warm.version_strings(name):
                assert warm.package(name, v).opam == parse(warm.opam_bytes(name, v), "x")
    overlays = load_repository(overlays_dir, cache_dir=cache)
    u = Universe([overlays, repo])
    zarith = [v for v in u.version_strings("zarith") if "+dune" in v]
    assert zarith and all(u.package("zarith", v).repository == overlays.name for v in zarith)
    assert u.package("zarith", u.version_strings("zarith")[0]).repository == repo.name


def test_cache_damaged_under_an_open_repository_is_a_clean_error(cache: Path) -> None:
    repo = load_repository(FIXTURES / "base", cache_dir=cache)
    (idx,) = cache.glob("*.idx")
    idx.write_bytes(b"\x00" * idx.stat().st_size)  # in place, as no opamlock process ever writes
    with pytest.raises(RepositoryError) as e:
        repo.package("foo", "1.0")
    assert e.value.hint


def test_prune_keeps_the_most_recently_used_indexes(cache: Path, tmp_path: Path, parses: list[int]) -> None:
    from opamlock.repository.index import IndexCache

    seen: set[Path] = set()
    for i in range(4):
        d = tmp_path / f"r{i}"
        shutil.copytree(FIXTURES / "overlay", d)
        (d / "packages/extra/extra.0.1/opam").write_text(f'opam-version: "2.0"\nsynopsis: "{i}"\n')
        load_repository(d, cache_dir=cache)
        (new,) = set(cache.glob("*.idx")) - seen
        os.utime(new, (1000 * (i + 1), 1000 * (i + 1)))  # distinct ages, oldest first
        seen.add(new)
    stale = cache / ".crashed.idx.x.tmp"
    stale.write_bytes(b"left by a crash")
    os.utime(stale, (0, 0))
    assert len(list(cache.glob("*.idx"))) == 4
    IndexCache(cache).prune(keep=2)
    assert len(list(cache.glob("*.idx"))) == 2
    assert not stale.exists()
    r3 = load_repository(tmp_path / "r3", cache_dir=cache)
    assert r3.package("extra", "0.1").text_field("synopsis") == "3"
    assert len(parses) == 4  # r3, the newest, survived
    load_repository(tmp_path / "r0", cache_dir=cache)
    assert len(parses) == 5  # r0, the oldest, did not


def test_cache_writes_survive_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # writev may write less than asked (signals, quotas, pipes); every byte must still land in order.
    import random

    from opamlock import atomicfile

    rng = random.Random(7)
    real_writev, real_write = os.writev, os.write

    def short_writev(fd: int, bufs: list[bytes]) -> int:
        data = b"".join(bufs)
        return real_write(fd, data[: rng.randint(0, len(data))])

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data)[: max(1, rng.randint(0, len(data)))])

    chunks = [bytes([i % 251]) * rng.randint(0, 300) for i in range(3000)]
    monkeypatch.setattr(os, "writev", short_writev)
    monkeypatch.setattr(os, "write", short_write)
    atomicfile.atomic_write(tmp_path / "x", chunks)
    monkeypatch.setattr(os, "writev", real_writev)
    assert (tmp_path / "x").read_bytes() == b"".join(chunks)
