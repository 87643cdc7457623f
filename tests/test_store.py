"""The content-addressed store: round trips, atomic publication, concurrent writers."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opamlock.fetch import Checksum, ChecksumMismatch, GitCommit, Store, default_cache_dir
from opamlock.fetch.checksum import ALGOS


def digest(algo: str, data: bytes) -> Checksum:
    return Checksum(algo, hashlib.new(algo, data).hexdigest())  # type: ignore[arg-type]


def visible_entries(store: Store) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file() and store.tmp_dir not in p.parents)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=5000), algo=st.sampled_from(ALGOS))
def test_put_then_get_round_trips(tmp_path: Path, data: bytes, algo: str) -> None:
    store = Store(Path(tempfile.mkdtemp(dir=tmp_path)))
    path = store.add_bytes(data, [digest(algo, data)])
    assert path.read_bytes() == data
    for a in ALGOS:  # filed under every algorithm, whichever the lock named
        found = store.lookup([digest(a, data)], verify=True)
        assert found is not None and found.read_bytes() == data
    assert list(store.tmp_dir.iterdir()) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=5000), pos=st.integers(min_value=0), flip=st.integers(1, 255))
def test_corrupted_temp_never_becomes_visible(tmp_path: Path, data: bytes, pos: int, flip: int) -> None:
    store = Store(Path(tempfile.mkdtemp(dir=tmp_path)))
    corrupt = bytearray(data)
    corrupt[pos % len(data)] ^= flip
    expected = digest("sha256", data)
    with pytest.raises(ChecksumMismatch):
        store.add_bytes(bytes(corrupt), [expected])
    assert store.lookup([expected]) is None
    assert visible_entries(store) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_temp_modified_on_disk_after_streaming_is_refused(tmp_path: Path) -> None:
    """The bytes checked are the bytes on disk, not only what the stream said it wrote."""
    store = Store(tmp_path / "s")
    data = b"x" * 1000
    with store.stage() as stg:
        stg.write(data)
        stg._f.flush()
        with open(stg.path, "r+b") as f:
            f.write(b"y")
        with pytest.raises(ChecksumMismatch):
            stg.commit([digest("sha256", data)])
    assert visible_entries(store) == []


def test_lookup_verify_removes_corrupt_entry(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    data = b"hello"
    key = digest("sha512", data)
    p = store.add_bytes(data, [key])
    assert store.lookup([key], verify=True) == p
    p.chmod(0o644)
    p.write_bytes(b"HELLO")
    assert store.lookup([key], verify=True) is None
    assert not p.exists()
    assert store.lookup([digest("md5", data)], verify=True) is None  # its hard links were the same inode


def test_entries_are_read_only_and_laid_out_by_algo(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    key = digest("sha256", b"abc")
    store.add_bytes(b"abc", [key])
    p = tmp_path / "s" / "sha256" / key.hex[:2] / key.hex
    assert p.read_bytes() == b"abc"
    assert not os.access(p, os.W_OK) or os.geteuid() == 0


def test_git_commit_key(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    commit = GitCommit("a" * 40)
    with store.stage() as stg:
        stg.write(b"tarball")
        p = stg.commit([], extra_keys=[commit])
    assert store.lookup([commit]) is not None
    assert store.path_for(commit) == tmp_path / "s" / "git" / "aa" / ("a" * 40)
    assert p.read_bytes() == b"tarball"


def test_entry_needs_a_key(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    with store.stage() as stg, pytest.raises(ValueError):
        stg.commit([])
    assert list(store.tmp_dir.iterdir()) == []


def test_concurrent_writers_of_the_same_entry(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    data = os.urandom(200_000)
    key = digest("sha256", data)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer() -> None:
        try:
            barrier.wait()
            Store(tmp_path / "s").add_bytes(data, [key])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.lookup([key], verify=True) is not None
    assert len(visible_entries(store)) == 3
    assert list(store.tmp_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPAMLOCK_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, Path("/c")),
        ({"XDG_CACHE_HOME": "/x"}, Path("/x/opamlock")),
        ({}, Path.home() / ".cache" / "opamlock"),
    ],
)
def test_default_cache_dir(env: dict[str, str], expected: Path) -> None:
    assert default_cache_dir(env) == expected
    assert Store.default(env).root == expected / "store"


def test_clean_stale_removes_only_old_temp_files(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    store.tmp_dir.mkdir(parents=True)
    old, young = store.tmp_dir / ".stage-old", store.tmp_dir / ".stage-young"
    old.write_bytes(b"x")
    young.write_bytes(b"y")
    os.utime(old, (0, 0))
    assert store.clean_stale() == 1
    assert not old.exists() and young.exists()
