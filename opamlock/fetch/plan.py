"""The fetch plan: what to download, derived from a lock.

The fetcher depends only on :class:`FetchItem`, not on the lock's record types, so it can be
driven from a lock, a test, or a build step alike. :func:`plan_from_lock` reads the lock through
the attribute names documented in ``docs/lockfile.md`` (duck-typed by the protocols below).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from opamlock.fetch.checksum import Checksum, parse_checksums
from opamlock.fetch.errors import InvalidSource, MissingChecksum
from opamlock.fetch.store import GitCommit, StoreKey

_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
GIT_SCHEMES = ("git+https", "git+http", "git+file", "git+ssh", "git")


class _LockSource(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def checksums(self) -> Sequence[str]: ...


class _LockPackage(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def source(self) -> _LockSource | None: ...
    @property
    def extra_sources(self) -> Sequence[_LockSource]: ...


class _Lock(Protocol):
    @property
    def packages(self) -> Sequence[_LockPackage]: ...


@dataclass(frozen=True, slots=True)
class FetchItem:
    """One file to fetch.

    ``package`` is ``name.version``; ``name`` is the file's name (the URL's basename for a main
    source, the ``extra-source`` name otherwise). ``checksums`` are strongest first.
    """

    package: str
    name: str
    url: str
    checksums: tuple[Checksum, ...]
    mirrors: tuple[str, ...] = ()

    @property
    def is_git(self) -> bool:
        return urlsplit(self.url).scheme in GIT_SCHEMES

    @property
    def git_commit(self) -> str | None:
        """The pinned commit of a git source (the URL fragment), else None."""
        if not self.is_git:
            return None
        frag = urlsplit(self.url).fragment.lower()
        return frag if _COMMIT.fullmatch(frag) else None

    @property
    def keys(self) -> tuple[StoreKey, ...]:
        """Store keys that identify this item's bytes, most trusted first."""
        commit = self.git_commit
        extra: tuple[StoreKey, ...] = (GitCommit(commit),) if commit and not self.checksums else ()
        return (*self.checksums, *extra)

    @property
    def primary_key(self) -> StoreKey:
        return self.keys[0]


@dataclass(frozen=True, slots=True)
class FetchPlan:
    items: tuple[FetchItem, ...]

    def __len__(self) -> int:
        return len(self.items)


def make_item(
    package: str, url: str, checksums: Sequence[str], *, name: str | None = None, mirrors: Sequence[str] = ()
) -> FetchItem:
    """Build and validate an item: it must be addressable (checksummed, or git pinned to a commit)."""
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https", "file", *GIT_SCHEMES):
        raise InvalidSource(
            f"{package}: unsupported source URL {url!r}",
            hint="opamlock fetches http(s)://, file:// and git+…://…#<commit> sources",
        )
    item = FetchItem(
        package=package,
        name=name or default_name(url),
        url=url,
        checksums=parse_checksums(checksums),
        mirrors=tuple(mirrors),
    )
    if item.is_git and item.git_commit is None:
        raise InvalidSource(
            f"{package}: git source {url!r} is not pinned to a commit",
            hint="write the full commit hash after '#', e.g. git+https://host/repo.git#<40 hex digits>",
        )
    if not item.keys:
        raise MissingChecksum(
            f"{package}: source {url} has no checksum, so it cannot be verified",
            hint="add a checksum: field to the package's url section",
        )
    return item


def default_name(url: str) -> str:
    """A file name for a URL: its path's basename, without the git fragment."""
    parts = urlsplit(url)
    base = posixpath.basename(parts.path.rstrip("/"))
    return base or parts.netloc or url


def plan_from_lock(lock: _Lock) -> FetchPlan:
    """Every source and extra-source of the lock, in lock order (packages are sorted there).

    A package locked separately per platform usually repeats the same sources; identical items
    appear once.
    """
    items: list[FetchItem] = []
    for pkg in lock.packages:
        package = f"{pkg.name}.{pkg.version}"
        if pkg.source is not None:
            src = pkg.source
            items.append(
                make_item(package, src.url, src.checksums, mirrors=tuple(getattr(src, "mirrors", ())))
            )
        for extra in pkg.extra_sources:
            items.append(
                make_item(
                    package,
                    extra.url,
                    extra.checksums,
                    name=getattr(extra, "name", None),
                    mirrors=tuple(getattr(extra, "mirrors", ())),
                )
            )
    return FetchPlan(tuple(dict.fromkeys(items)))
