"""Monorepo mode: sources unpacked from the store into duniverse/, escaping members refused."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from opamlock.build import BuildError, unpack_duniverse
from opamlock.fetch import Store, UnsafeArchive, parse_checksums
from opamlock.lockfile import LockedPackage, Source
from tests.buildkit import load_example


def add(store: Store, data: bytes) -> str:
    digest = "sha256=" + hashlib.sha256(data).hexdigest()
    store.add_bytes(data, parse_checksums([digest]))
    return digest


def pkg(name: str, digest: str) -> LockedPackage:
    return LockedPackage(
        name=name,
        version="1.0",
        repository="r",
        opam_hash="sha256:00",
        source=Source(url=f"http://127.0.0.1:9/{name}.tar.gz", checksums=(digest,)),
    )


def test_example_sources_unpack_into_duniverse(tmp_path: Path) -> None:
    ex = load_example()
    store = Store(tmp_path / "store")
    pkgs = [pkg(n, add(store, ex.source_tarball(n, v))) for n, v in ex.PACKAGES.items()]
    names = unpack_duniverse(pkgs, store, tmp_path / "duniverse")
    assert names == ("hello-support", "hello-kernel")
    # The top directory (hello-support-1.0.0/) is stripped, as opam-monorepo lays packages out.
    assert (tmp_path / "duniverse" / "hello-support" / "kernel.ld").is_file()
    assert (tmp_path / "duniverse" / "hello-kernel" / "kernel.c").is_file()


def evil_tarball(kind: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tf:
        top = tarfile.TarInfo("pkg-1.0")
        top.type = tarfile.DIRTYPE
        tf.addfile(top)
        if kind == "dotdot":
            info = tarfile.TarInfo("pkg-1.0/../../escaped")
            info.size = 4
            tf.addfile(info, io.BytesIO(b"evil"))
        elif kind == "absolute":
            info = tarfile.TarInfo("/tmp/opamlock-absolute-escape")
            info.size = 4
            tf.addfile(info, io.BytesIO(b"evil"))
        else:
            link = tarfile.TarInfo("pkg-1.0/link")
            link.type = tarfile.SYMTYPE
            link.linkname = "../../.."
            tf.addfile(link)
            info = tarfile.TarInfo("pkg-1.0/link/escaped")
            info.size = 4
            tf.addfile(info, io.BytesIO(b"evil"))
    return raw.getvalue()


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_escaping_members_are_refused(tmp_path: Path, kind: str) -> None:
    store = Store(tmp_path / "store")
    p = pkg("evil", add(store, evil_tarball(kind)))
    work = tmp_path / "work"
    with pytest.raises(UnsafeArchive):
        unpack_duniverse([p], store, work / "duniverse")
    assert not (tmp_path / "escaped").exists() and not (work / "escaped").exists()
    assert not Path("/tmp/opamlock-absolute-escape").exists()
    leftovers = (
        [q for q in (work / "duniverse").rglob("*") if q.is_file()] if (work / "duniverse").exists() else []
    )
    assert leftovers == []


def test_missing_source_says_fetch(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as exc:
        unpack_duniverse([pkg("absent", "sha256=" + "0" * 64)], Store(tmp_path / "s"), tmp_path / "d")
    assert "absent.1.0" in exc.value.message and "opamlock fetch" in exc.value.render()
