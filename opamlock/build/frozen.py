"""The frozen repository and the staged download cache: opam sees exactly the lock, offline.

opam is the real build engine for the host toolchain, but it must not solve anything new nor
download anything. So it gets a repository holding only the locked opam files, byte for byte
(each checked against the lock's ``opam-hash``), and a download cache pre-filled from the store
under every checksum the lock lists (opam's ``download-cache/<algo>/<2 hex>/<hex>`` layout, which
opam consults before any URL). The opam files keep their original ``url`` sections, so they are
the very files the lock hashed; with the network unshared, any cache miss fails loudly.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from opamlock.build.errors import BuildError, OpamHashMismatch
from opamlock.fetch import Store, make_item


class LockSource(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def checksums(self) -> Sequence[str]: ...


class LockPackage(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def repository(self) -> str: ...
    @property
    def opam_hash(self) -> str: ...
    @property
    def platforms(self) -> Sequence[str]: ...
    @property
    def source(self) -> LockSource | None: ...
    @property
    def extra_sources(self) -> Sequence[LockSource]: ...


class LockRepository(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class FrozenRepository:
    path: Path
    packages: tuple[str, ...]
    """``name.version`` of every package it holds, sorted."""


def repository_dirs(
    repositories: Sequence[LockRepository], project: Path, overrides: Mapping[str, Path] | None = None
) -> dict[str, Path]:
    """Where each locked repository's files are on disk.

    Local repositories (a project-relative path or ``file://``) are found directly; anything else
    (a git URL) must be given in ``overrides``, e.g. the checkout ``opamlock lock`` used.
    """
    out: dict[str, Path] = {}
    for repo in repositories:
        if overrides and repo.name in overrides:
            out[repo.name] = Path(overrides[repo.name])
            continue
        parts = urlsplit(repo.url)
        if parts.scheme == "file":
            out[repo.name] = Path(unquote(parts.path))
        elif not parts.scheme:
            out[repo.name] = (project / repo.url).resolve()
        else:
            continue  # resolved lazily: only an error if a package needs it
    return out


def opam_file_of(repo: Path, name: str, version: str) -> Path:
    return repo / "packages" / name / f"{name}.{version}" / "opam"


def check_opam_hash(data: bytes, expected: str, *, package: str, path: Path) -> None:
    algo, sep, want = expected.replace("=", ":", 1).partition(":")
    if not sep or algo not in hashlib.algorithms_available:
        raise BuildError(f"{package}: the lock's opam-hash {expected!r} is not 'algo:hex'")
    got = hashlib.new(algo, data).hexdigest()
    if got != want.lower():
        raise OpamHashMismatch(
            f"{package}: {path} does not match the lock (expected {algo}:{want}, found {algo}:{got})",
            hint="the repository changed since the lock was made; run `opamlock lock` again or "
            "check out the locked repository commit",
        )


def write_frozen_repository(
    packages: Sequence[LockPackage], repo_dirs: Mapping[str, Path], dest: Path
) -> FrozenRepository:
    """Write ``dest`` as an opam repository holding exactly ``packages`` (verified opam files)."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "packages").mkdir(parents=True)
    (dest / "repo").write_text('opam-version: "2.0"\n')
    names = []
    for pkg in packages:
        nv = f"{pkg.name}.{pkg.version}"
        repo = repo_dirs.get(pkg.repository)
        if repo is None:
            raise BuildError(
                f"{nv}: repository {pkg.repository!r} has no local copy",
                hint="pass its checkout (opamlock build --repo NAME=PATH)",
            )
        src = opam_file_of(repo, pkg.name, pkg.version)
        try:
            data = src.read_bytes()
        except FileNotFoundError:
            raise BuildError(f"{nv}: {src} is missing from repository {pkg.repository!r}") from None
        check_opam_hash(data, pkg.opam_hash, package=nv, path=src)
        out = opam_file_of(dest, pkg.name, pkg.version)
        out.parent.mkdir(parents=True)
        out.write_bytes(data)
        files = src.parent / "files"
        if files.is_dir():
            shutil.copytree(files, out.parent / "files", symlinks=False)
        names.append(nv)
    return FrozenRepository(path=dest, packages=tuple(sorted(names)))


def stage_download_cache(packages: Sequence[LockPackage], store: Store, cache: Path) -> int:
    """Copy each source from the store into opam's download cache under all its checksums.

    Copies, not links: the build directory is writable by the build, the store must stay intact.
    Returns the number of cache entries written. Missing sources are reported together.
    """
    missing: list[str] = []
    written = 0
    for pkg in packages:
        nv = f"{pkg.name}.{pkg.version}"
        sources = ([pkg.source] if pkg.source is not None else []) + list(pkg.extra_sources)
        for src in sources:
            item = make_item(nv, src.url, src.checksums)
            found = store.lookup(item.keys, verify=True)
            if found is None:
                missing.append(f"{nv}: {src.url}")
                continue
            for c in item.checksums:
                dest = cache / c.algo / c.hex[:2] / c.hex
                if dest.exists():
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(found, dest)
                written += 1
    if missing:
        raise BuildError(
            "sources missing from the store:\n  " + "\n  ".join(missing),
            hint="run `opamlock fetch` first (the build itself never downloads)",
        )
    return written
