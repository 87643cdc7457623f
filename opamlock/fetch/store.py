"""The content-addressed store: ``<cache>/store/<algo>/<2 hex>/<hex>``.

An entry's name is its digest, so an entry is either absent or right; there is no state to get
out of sync. Bytes reach the store only through :class:`Staging`: a temp file in the store's own
``tmp/`` (same filesystem), hashed while written, fsynced, re-hashed from disk, compared with the
lock, and then ``os.replace``\\d into place. Several fetchers (threads or processes) may race on
the same entry: each stages privately and the last rename wins with identical bytes.

Every entry is filed under its md5, sha256 and sha512 (hard links), so any lock spelling of the
same file finds it. Git sources without a checksum are also filed under ``git/<commit>``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from opamlock.fetch.checksum import Checksum, MultiHasher, hash_file, sort_strongest_first, strongest
from opamlock.fetch.errors import ChecksumMismatch, FetchError


@dataclass(frozen=True, slots=True, order=True)
class GitCommit:
    """A store key for a git tree we archived ourselves: the commit names the bytes."""

    hex: str

    @property
    def algo(self) -> str:
        return "git"

    def __str__(self) -> str:
        return f"git={self.hex}"


StoreKey = Checksum | GitCommit


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$OPAMLOCK_CACHE``, else ``$XDG_CACHE_HOME/opamlock``, else ``~/.cache/opamlock``."""
    e = os.environ if env is None else env
    if e.get("OPAMLOCK_CACHE"):
        return Path(e["OPAMLOCK_CACHE"])
    if e.get("XDG_CACHE_HOME"):
        return Path(e["XDG_CACHE_HOME"]) / "opamlock"
    return Path.home() / ".cache" / "opamlock"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """A content-addressed file store rooted at ``root`` (the ``store`` directory itself)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> Store:
        return cls(default_cache_dir(env) / "store")

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def path_for(self, key: StoreKey) -> Path:
        return self.root / key.algo / key.hex[:2] / key.hex

    def lookup(self, keys: Iterable[StoreKey], *, verify: bool = False) -> Path | None:
        """The entry for the first key present, or None.

        With ``verify``, the entry is re-hashed against every checksum among ``keys``; an entry
        whose bytes no longer match its own name (disk corruption, a hand edit) is removed so the
        next fetch replaces it.
        """
        keys = tuple(keys)
        checksums = [k for k in keys if isinstance(k, Checksum)]
        ordered: list[StoreKey] = [*sort_strongest_first(checksums)]
        ordered += [k for k in keys if isinstance(k, GitCommit)]
        for key in ordered:
            p = self.path_for(key)
            if not p.is_file():
                continue
            if verify and isinstance(key, Checksum):
                h = hash_file(p, {c.algo for c in checksums})
                if h.hexdigest(key.algo) != key.hex:
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()
                    continue
                if h.first_mismatch(checksums) is not None:
                    continue  # the lock contradicts itself; let the download report it
            return p
        return None

    def clean_stale(self, max_age: float = 24 * 3600) -> int:
        """Remove temp files left by fetchers that died; younger ones may belong to a live fetch."""
        removed = 0
        if not self.tmp_dir.is_dir():
            return 0
        cutoff = time.time() - max_age
        for p in self.tmp_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if p.lstat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
        return removed

    def stage(self) -> Staging:
        """A fresh temp file that can become an entry; use as a context manager."""
        return Staging(self)

    def add_file(
        self,
        src: Path,
        expected: Sequence[Checksum],
        *,
        extra_keys: Sequence[GitCommit] = (),
        package: str = "?",
        url: str | None = None,
    ) -> Path:
        """Copy ``src`` in, verifying ``expected`` first."""
        with self.stage() as st, src.open("rb") as f:
            while chunk := f.read(1 << 20):
                st.write(chunk)
            return st.commit(expected, extra_keys=extra_keys, package=package, url=url or src.as_uri())

    def add_bytes(self, data: bytes, expected: Sequence[Checksum], *, package: str = "?") -> Path:
        with self.stage() as st:
            st.write(data)
            return st.commit(expected, package=package, url="<bytes>")

    def _place(self, tmp: Path, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)

    def _link(self, existing: Path, dest: Path) -> None:
        """File ``existing`` under a second name, atomically (hard link, or copy if links fail)."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix=".link-")
        os.close(fd)
        tmp = Path(name)
        try:
            tmp.unlink()
            try:
                os.link(existing, tmp)
            except OSError:
                shutil.copyfile(existing, tmp)
                with tmp.open("rb+") as f:
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o444)
            self._place(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


class Staging:
    """A temp file on its way into the store; discarded unless :meth:`commit` succeeds."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix=".stage-")
        self.path = Path(name)
        self._f = os.fdopen(fd, "wb")
        self.hasher = MultiHasher()
        self._done = False

    @property
    def size(self) -> int:
        return self.hasher.size

    def write(self, data: bytes | memoryview) -> None:
        self._f.write(data)
        self.hasher.update(data)

    def reset(self) -> None:
        """Start over (a retried download)."""
        self._f.seek(0)
        self._f.truncate()
        self.hasher = MultiHasher()

    def commit(
        self,
        expected: Sequence[Checksum],
        *,
        extra_keys: Sequence[GitCommit] = (),
        package: str = "?",
        url: str = "?",
    ) -> Path:
        """Verify and publish; returns the entry's path (under its sha512 name).

        Raises :class:`ChecksumMismatch` (and leaves the store untouched) if the bytes disagree
        with any of ``expected``, strongest reported first.
        """
        if not expected and not extra_keys:
            raise ValueError("an entry needs at least one checksum or git commit to be addressed by")
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            bad = self.hasher.first_mismatch(expected)
            if bad is not None:
                raise ChecksumMismatch(package=package, url=url, expected=bad[0], actual=bad[1])
            # What enters the store is the file, not the stream: re-read it with the strongest
            # algorithm. One algorithm suffices: the stream's other digests are of the same bytes.
            best = strongest(expected)
            algo = best.algo if best is not None else "sha512"
            on_disk = hash_file(self.path, (algo,)).hexdigest(algo)
            if best is not None and on_disk != best.hex:
                raise ChecksumMismatch(package=package, url=url, expected=best, actual=on_disk)
            if on_disk != self.hasher.hexdigest(algo):
                raise FetchError(f"staged file {self.path} changed on disk while fetching {package}")
            os.chmod(self.path, 0o444)
            keys: list[StoreKey] = [*self.hasher.digests(), *extra_keys]
            primary = self.store.path_for(keys[0])
            self.store._place(self.path, primary)
            self._done = True
            for key in keys[1:]:
                self.store._link(primary, self.store.path_for(key))
            return primary
        finally:
            if not self._done:
                self.discard()

    def discard(self) -> None:
        self._done = True
        self._f.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._done:
            self.discard()
