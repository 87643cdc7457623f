"""Errors of the fetch layer.

They live together because the fetcher aggregates them: a run that fails for several items
reports every failure at once (:class:`FetchFailed`), so the user fixes a lock in one round trip
instead of one error per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from opamlock.errors import OpamlockError

if TYPE_CHECKING:
    from opamlock.fetch.checksum import Checksum
    from opamlock.fetch.plan import FetchItem


class FetchError(OpamlockError):
    """Base class of everything ``opamlock fetch`` reports to the user."""


class InvalidChecksum(FetchError):
    """A checksum string is not opam's ``algo=hex`` (md5, sha256 or sha512)."""


class MissingChecksum(FetchError):
    """A non-git source has no checksum, so its bytes cannot be verified or content-addressed."""


class InvalidSource(FetchError):
    """A source URL opamlock cannot fetch reproducibly (unknown scheme, git without a commit)."""


class ToolMissing(FetchError):
    """An external program (git) is not installed."""


class ChecksumMismatch(FetchError):
    """Downloaded bytes do not match the lock; nothing entered the store."""

    def __init__(self, *, package: str, url: str, expected: Checksum, actual: str) -> None:
        super().__init__(
            f"checksum mismatch for {package} from {url}: expected {expected}, got {expected.algo}={actual}",
            hint="the upstream file changed or the download was tampered with; "
            "re-lock only if you trust the new bytes",
        )
        self.package = package
        self.url = url
        self.expected = expected
        self.actual = actual


class DownloadFailed(FetchError):
    """Every source of an item (URL, lock mirrors, configured mirrors) failed."""

    def __init__(self, *, package: str, name: str, attempts: Sequence[tuple[str, str]]) -> None:
        lines = [f"could not fetch {name} for {package}; tried:"]
        lines += [f"  {url}: {reason}" for url, reason in attempts]
        super().__init__(
            "\n".join(lines), hint="check the network, or add a mirror under [fetch] in opamlock.toml"
        )
        self.package = package
        self.name = name
        self.attempts = tuple(attempts)


class OfflineMissing(FetchError):
    """``--offline`` was asked for but the store lacks some items."""

    def __init__(self, missing: Sequence[FetchItem]) -> None:
        lines = [f"{len(missing)} source(s) missing from the store (offline):"]
        lines += [f"  {it.package}: {it.name} ({it.url})" for it in missing]
        super().__init__("\n".join(lines), hint="run `opamlock fetch` with network access first")
        self.missing = tuple(missing)


class FetchFailed(FetchError):
    """Several items failed; each underlying error is kept in :attr:`errors`."""

    def __init__(self, errors: Sequence[FetchError]) -> None:
        body = "\n".join(e.message for e in errors)
        super().__init__(f"{len(errors)} source(s) failed to fetch:\n{body}")
        self.errors = tuple(errors)


class UnreadableArchive(FetchError):
    """A file is not an archive of a supported kind, or is corrupt."""


class UnsafeArchive(FetchError):
    """An archive member would land outside the extraction directory, or is a device file."""

    def __init__(self, *, archive: str, member: str, reason: str) -> None:
        super().__init__(
            f"refusing to extract {archive}: member {member!r} {reason}",
            hint="the archive is malformed or malicious; nothing was written outside the target directory",
        )
        self.archive = archive
        self.member = member
        self.reason = reason
