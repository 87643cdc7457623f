"""Repositories and their layering into one universe of packages, as opam layers them.

A :class:`Repository` is one loaded index: names, versions, and lazily decoded packages. A
:class:`Universe` stacks repositories in priority order, highest first. For each ``name.version``
the highest-priority repository that defines it wins; versions only a lower repository defines
stay visible (opam-overlays' ``zarith.1.14+dune`` beside opam-repository's ``zarith.1.14``).

Versions that compare equal but are spelled differently (``5.5.0+introcaml`` and
``5.5.0+introcaml0``) are one version to opam. Inside one repository the index keeps one and
records the other; across repositories the higher one wins. Both are reported as
:class:`Collision`, because a silently vanishing package is a bug report waiting to happen.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from opamlock.package import Package
from opamlock.repository import compact
from opamlock.repository._parse import Parsed
from opamlock.repository.index import Entry, Index, build_index, name_key
from opamlock.repository.source import LoadProblem, RawPackage, RepositoryError
from opamlock.version import OpamVersion, version_key

__all__ = ["Collision", "Repository", "Universe"]


@dataclass(frozen=True, slots=True)
class Collision:
    """``dropped`` compares equal to ``kept`` and is hidden by it."""

    name: str
    kept: str
    dropped: str
    repository: str  # where `kept` comes from
    dropped_repository: str

    def render(self) -> str:
        where = (f"in {self.repository}" if self.repository == self.dropped_repository
                 else f"{self.repository} over {self.dropped_repository}")
        return (f"{self.name}.{self.dropped} compares equal to {self.name}.{self.kept} and is hidden "
                f"by it ({where})")


def _vkey(v: OpamVersion | str) -> Any:
    return v.key if isinstance(v, OpamVersion) else version_key(v)


class Repository:
    """One loaded repository. Packages are decoded from the index on first request."""

    def __init__(self, index: Index, *, name: str, location: str, kind: str,
                 given: dict[tuple[str, str], Package] | None = None,
                 commit: str | None = None, commit_time: int | None = None) -> None:
        self.name = name
        self.identity = index.identity
        #: The commit the content was taken from, and its committer time (Unix seconds), when the
        #: source says so (git, a ``git archive`` tarball); None for a folder or an unknown archive.
        self.commit = commit
        self.commit_time = commit_time
        self.location = location
        self.kind = kind
        self._index = index
        self._pos = {n: i for i, n in enumerate(index.names)}
        self._by_key: dict[str, dict[Any, int]] = {}
        self._packages: dict[tuple[str, str], Package] = dict(given or {})

    def __repr__(self) -> str:
        return f"<Repository {self.name} {self.identity} ({len(self)} packages)>"

    def __len__(self) -> int:
        return sum(len(v) for v in self._index.versions)

    @property
    def problems(self) -> tuple[LoadProblem, ...]:
        """Opam files that could not be loaded (each with file:line:col when it is a syntax error)."""
        return tuple(LoadProblem(f"{self.location}/{p.path}", p.message, p.line, p.col)
                     for p in self._index.problems)

    @property
    def collisions(self) -> list[Collision]:
        return [Collision(n, k, d, self.name, self.name) for n, k, d in self._index.collisions]

    def names(self) -> tuple[str, ...]:
        return self._index.names

    def __contains__(self, name: object) -> bool:
        return name in self._pos

    def version_strings(self, name: str) -> tuple[str, ...]:
        """Versions as spelled, ascending; the cheap path for listing (no version objects)."""
        i = self._pos.get(name)
        return () if i is None else self._index.versions[i]

    def _lookup(self, name: str, version: OpamVersion | str) -> tuple[int, int]:
        i = self._pos.get(name)
        if i is None:
            raise KeyError(f"{name}.{version}")
        keys = self._by_key.get(name)
        if keys is None:
            keys = self._by_key[name] = {version_key(v): j for j, v in enumerate(self._index.versions[i])}
        j = keys.get(_vkey(version))
        if j is None:
            raise KeyError(f"{name}.{version}")
        return i, j

    def _entry(self, name: str, version: OpamVersion | str) -> tuple[str, Entry]:
        i, j = self._lookup(name, version)
        return self._index.versions[i][j], self._index.entries[i][j]

    def package(self, name: str, version: OpamVersion | str) -> Package:
        spelled, entry = self._entry(name, version)
        pkg = self._packages.get((name, spelled))
        if pkg is None:
            relpath, digest, t_off, t_len = entry[0], entry[1], entry[2], entry[3]
            filename = f"{self.location}/{relpath}/opam"
            try:
                tree = compact.loads_lazy(self._index.blob.read(t_off, t_len), filename)
            except (compact.CompactError, OSError) as e:
                raise RepositoryError(
                    f"{filename}: the index cache entry is damaged ({e})",
                    hint="something modified opamlock's cache while it was in use; run the command again",
                ) from e
            pkg = Package(name, OpamVersion(spelled), tree, repository=self.name,
                          opam_hash="sha256:" + digest)
            self._packages[(name, spelled)] = pkg
        return pkg

    def opam_bytes(self, name: str, version: OpamVersion | str) -> bytes:
        _, entry = self._entry(name, version)
        return self._index.blob.read(entry[4], entry[5])

    def files(self, name: str, version: OpamVersion | str) -> tuple[tuple[str, str], ...]:
        """``(path below files/, sha256 hex)`` of the package's ``files/`` folder, sorted."""
        return self._entry(name, version)[1][6]

    def relpath(self, name: str, version: OpamVersion | str) -> str:
        """The package folder inside the repository, e.g. ``packages/foo/foo.1.0``."""
        return self._entry(name, version)[1][0]

    @classmethod
    def from_packages(cls, packages: Iterable[Package], *, name: str = "memory") -> Repository:
        """An in-memory repository (for tests of other modules); the given objects are returned as-is.

        Their opam bytes are the printed syntax tree, since no file was read.
        """
        from opamlock.opamfile import print_file

        pkgs = list(packages)
        raw: list[RawPackage] = []
        parsed: list[Parsed] = []
        given: dict[tuple[str, str], Package] = {}
        for p in pkgs:
            spelled = str(p.version)
            text = print_file(p.opam).encode("utf-8")
            raw.append(RawPackage(f"packages/{p.name}/{p.name}.{spelled}", p.name, spelled, text, ()))
            digest = p.opam_hash.removeprefix("sha256:")
            parsed.append((digest, marshal.dumps(compact.encode(p.opam)), None))
            given.setdefault((p.name, spelled), p)
        idx = build_index(f"memory:{len(pkgs)}", raw, parsed, ())
        return cls(idx, name=name, location=f"<{name}>", kind="memory", given=given)


class Universe:
    """Repositories layered in priority order, highest first."""

    def __init__(self, repositories: Sequence[Repository]) -> None:
        self.repositories: tuple[Repository, ...] = tuple(repositories)
        self._names: list[str] | None = None
        # name -> ascending ((spelling, repository position), …); filled lazily for single-repo names.
        self._slots: dict[str, tuple[tuple[str, int], ...]] = {}
        self._keys: dict[str, dict[Any, tuple[str, int]]] = {}
        self.collisions: list[Collision] = [c for r in self.repositories for c in r.collisions]
        if len(self.repositories) > 1:
            self._merge_shared()

    @classmethod
    def from_packages(cls, packages: Iterable[Package]) -> Universe:
        return cls([Repository.from_packages(packages)])

    def _merge_shared(self) -> None:
        owners: dict[str, list[int]] = {}
        for ri, repo in enumerate(self.repositories):
            for n in repo.names():
                owners.setdefault(n, []).append(ri)
        for n, ris in owners.items():
            if len(ris) < 2:
                continue
            chosen: dict[Any, tuple[str, int]] = {}
            for ri in ris:  # highest priority first
                for v in self.repositories[ri].version_strings(n):
                    k = version_key(v)
                    prev = chosen.get(k)
                    if prev is None:
                        chosen[k] = (v, ri)
                    elif prev[0] != v:
                        self.collisions.append(Collision(n, prev[0], v, self.repositories[prev[1]].name,
                                                         self.repositories[ri].name))
            self._slots[n] = tuple(chosen[k] for k in sorted(chosen))
            self._keys[n] = chosen

    def _slots_of(self, name: str) -> tuple[tuple[str, int], ...]:
        slots = self._slots.get(name)
        if slots is None:
            slots = ()
            for ri, repo in enumerate(self.repositories):
                vs = repo.version_strings(name)
                if vs:
                    slots = tuple((v, ri) for v in vs)
                    break
            self._slots[name] = slots
        return slots

    def _find(self, name: str, version: OpamVersion | str) -> tuple[str, Repository]:
        keys = self._keys.get(name)
        if keys is None:
            keys = self._keys[name] = {version_key(v): (v, ri) for v, ri in self._slots_of(name)}
        hit = keys.get(_vkey(version))
        if hit is None:
            raise KeyError(f"{name}.{version}")
        return hit[0], self.repositories[hit[1]]

    # -- public queries ----------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every package name, in opam's name order."""
        if self._names is None:
            if len(self.repositories) == 1:
                self._names = list(self.repositories[0].names())
            else:
                self._names = sorted({n for r in self.repositories for n in r.names()}, key=name_key)
        return list(self._names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(name in r for r in self.repositories)

    def version_strings(self, name: str) -> list[str]:
        """Versions as spelled, ascending: the cheap path for listing."""
        return [v for v, _ in self._slots_of(name)]

    def versions(self, name: str) -> list[OpamVersion]:
        return [OpamVersion(v) for v, _ in self._slots_of(name)]

    def package(self, name: str, version: OpamVersion | str) -> Package:
        spelled, repo = self._find(name, version)
        return repo.package(name, spelled)

    def packages(self, name: str) -> list[Package]:
        return [self.repositories[ri].package(name, v) for v, ri in self._slots_of(name)]

    def latest(self, name: str) -> Package:
        slots = self._slots_of(name)
        if not slots:
            raise KeyError(name)
        v, ri = slots[-1]
        return self.repositories[ri].package(name, v)

    def repository_of(self, name: str, version: OpamVersion | str) -> Repository:
        return self._find(name, version)[1]

    def opam_bytes(self, name: str, version: OpamVersion | str) -> bytes:
        spelled, repo = self._find(name, version)
        return repo.opam_bytes(name, spelled)

    def files(self, name: str, version: OpamVersion | str) -> tuple[tuple[str, str], ...]:
        spelled, repo = self._find(name, version)
        return repo.files(name, spelled)

    def problems(self) -> list[tuple[Repository, LoadProblem]]:
        return [(r, p) for r in self.repositories for p in r.problems]

    def __len__(self) -> int:
        return sum(len(self._slots_of(n)) for n in self.names())
