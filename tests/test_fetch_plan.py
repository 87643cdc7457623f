"""From a lock (or anything shaped like one) to fetch items."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest

from opamlock.fetch import (
    Checksum,
    GitCommit,
    InvalidChecksum,
    InvalidSource,
    MissingChecksum,
    cache_mirror_urls,
    make_item,
    plan_from_lock,
)
from opamlock.fetch.fetcher import candidate_urls

SHA = hashlib.sha256(b"src").hexdigest()
MD5 = hashlib.md5(b"src").hexdigest()
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True)
class Src:
    url: str
    checksums: tuple[str, ...]
    mirrors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extra:
    name: str
    url: str
    checksums: tuple[str, ...]


@dataclass(frozen=True)
class Pkg:
    name: str
    version: str
    source: Src | None
    extra_sources: tuple[Extra, ...] = ()


@dataclass(frozen=True)
class Lock:
    packages: tuple[Pkg, ...] = field(default_factory=tuple)


def test_plan_from_a_lock_shaped_object() -> None:
    lock = Lock(
        (
            Pkg("base-unix", "base", None),
            Pkg(
                "cstruct",
                "6.2.0",
                Src("https://h/cstruct-6.2.0.tbz", (f"md5={MD5}", f"sha256={SHA}"), ("https://m/c.tbz",)),
                (Extra("fix.patch", "https://h/fix.patch", (f"sha256={SHA}",)),),
            ),
            Pkg("pinned", "dev", Src(f"git+https://h/r.git#{COMMIT}", ())),
        )
    )
    plan = plan_from_lock(lock)
    assert [(i.package, i.name, i.url) for i in plan.items] == [
        ("cstruct.6.2.0", "cstruct-6.2.0.tbz", "https://h/cstruct-6.2.0.tbz"),
        ("cstruct.6.2.0", "fix.patch", "https://h/fix.patch"),
        ("pinned.dev", "r.git", f"git+https://h/r.git#{COMMIT}"),
    ]
    first = plan.items[0]
    assert first.checksums == (Checksum("sha256", SHA), Checksum("md5", MD5))
    assert first.mirrors == ("https://m/c.tbz",)
    assert plan.items[1].mirrors == ()
    assert plan.items[2].keys == (GitCommit(COMMIT),)


def test_plan_from_real_lock_module_if_present(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lf = pytest.importorskip("opamlock.lockfile", reason="opamlock.lockfile has not landed yet")
    pkgs = [
        lf.LockedPackage(
            name="cstruct",
            version="6.2.0",
            repository="opam-repository",
            opam_hash=f"sha256:{SHA}",
            platforms=(plat,),
            source=lf.Source(url="https://h/cstruct-6.2.0.tbz", checksums=(f"sha256={SHA}",)),
            extra_sources=(
                lf.ExtraSource(name="fix.patch", url="https://h/fix.patch", checksums=(f"md5={MD5}",)),
            ),
        )
        for plat in ("linux-arm64", "linux-x86_64")  # the same sources recorded per platform
    ]
    lock = lf.Lock(
        inputs_hash=f"sha256:{SHA}",
        config_hash=f"sha256:{SHA}",
        repositories=(lf.LockedRepository(name="opam-repository", url="repo", identity=f"sha256:{SHA}"),),
        platforms=(
            lf.LockedPlatform(name="linux-arm64", vars=(("arch", "arm64"),)),
            lf.LockedPlatform(name="linux-x86_64", vars=(("arch", "x86_64"),)),
        ),
        roots=(),
        packages=tuple(pkgs),
    )
    path = tmp_path / "opamlock.lock"
    path.write_text(lf.dumps(lock))
    plan = plan_from_lock(lf.load(path))
    assert [(i.package, i.name, i.url, i.checksums) for i in plan.items] == [
        ("cstruct.6.2.0", "cstruct-6.2.0.tbz", "https://h/cstruct-6.2.0.tbz", (Checksum("sha256", SHA),)),
        ("cstruct.6.2.0", "fix.patch", "https://h/fix.patch", (Checksum("md5", MD5),)),
    ]


def test_http_source_without_checksum_is_refused() -> None:
    with pytest.raises(MissingChecksum, match=r"foo\.1"):
        make_item("foo.1", "https://h/foo.tgz", [])


def test_git_source_must_be_pinned() -> None:
    with pytest.raises(InvalidSource, match="not pinned"):
        make_item("foo.1", "git+https://h/r.git#main", [])


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(InvalidSource, match="unsupported"):
        make_item("foo.1", "ftp://h/foo.tgz", [f"sha256={SHA}"])


def test_bad_checksum_in_lock() -> None:
    with pytest.raises(InvalidChecksum):
        make_item("foo.1", "https://h/foo.tgz", ["sha256=zz"])


def test_source_order_url_then_lock_mirrors_then_cache_mirrors() -> None:
    it = make_item("f.1", "https://h/f.tgz", [f"sha256={SHA}", f"md5={MD5}"], mirrors=["https://m1/f.tgz"])
    assert candidate_urls(it, ["https://cache.example/", "file:///srv/opam"]) == [
        "https://h/f.tgz",
        "https://m1/f.tgz",
        f"https://cache.example/cache/sha256/{SHA[:2]}/{SHA}",
        f"https://cache.example/cache/md5/{MD5[:2]}/{MD5}",
        f"file:///srv/opam/cache/sha256/{SHA[:2]}/{SHA}",
        f"file:///srv/opam/cache/md5/{MD5[:2]}/{MD5}",
    ]
    assert cache_mirror_urls("https://x", []) == []
