"""The repository index and its on-disk cache.

An index is everything a repository load produces, laid out so a warm load reads only a small
table and touches each package's syntax tree only when that package is asked for:

* ``names``: sorted as opam sorts names; ``versions[i]``: ascending opam order, collisions removed;
* ``entries[i][j]``: ``(relpath, opam sha256, tree offset, tree length, opam offset, opam length,
  files)``, offsets into one *blob* that holds marshalled compact trees and the raw opam bytes.

Cache files live in ``$OPAMLOCK_CACHE/index`` (else ``$XDG_CACHE_HOME/opamlock/index``, else
``~/.cache/opamlock/index``), named after the repository identity. A header records the cache
format and a *stamp* of the code that wrote it (parser, encoding, version order), so an upgraded
opamlock never trusts a stale tree. Files are written to a temporary name, fsynced and renamed
into place; anything unreadable (truncated, corrupt, foreign) counts as a miss and is rebuilt.

A second, tiny file per source location maps a stat fingerprint to the identity, so a warm load
of a folder or archive need not hash its content. It also keeps the location's provenance (the
commit a ``git archive`` tarball records, and its time): that belongs to the file, not to the
content, since two archives of different commits can hold the same packages. An index keyed by a
git commit stores the commit's provenance itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import struct
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from opamlock.atomicfile import WriteError, atomic_write
from opamlock.repository._parse import Parsed
from opamlock.repository.source import LoadProblem, Provenance, RawPackage
from opamlock.version import version_key

__all__ = [
    "CACHE_FORMAT",
    "Entry",
    "Index",
    "IndexCache",
    "LocationRecord",
    "build_index",
    "default_cache_dir",
    "name_key",
]

#: 2: indexes and location records carry the provenance (commit, commit time).
#: 3: compact trees pack each node's tag with its column (see ``compact``).
CACHE_FORMAT = 3
#: Index files kept in the cache (each is ~80 MB for the full opam-repository).
KEEP_INDEXES = 8
_MAGIC = b"OPLKIDX\x01"
_UNKNOWN = Provenance()
_HEADER = struct.Struct("<8sQQI")

# (relpath, opam sha256 hex, tree offset, tree length, opam offset, opam length, files)
Entry = tuple[str, str, int, int, int, int, tuple[tuple[str, str], ...]]


def name_key(name: str) -> tuple[tuple[str, str], ...]:
    """opam's name order: letters compare case-insensitively first, then ``A`` before ``a``.

    Checked against ``opam list -A --short``: ``ANSITerminal`` < ``aacplus`` and
    ``conf-libMagickCore`` < ``conf-libmagic`` (character by character, not whole-string lowercase).
    """
    return tuple(zip(name.lower(), name, strict=True))


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$OPAMLOCK_CACHE/index``, else ``$XDG_CACHE_HOME/opamlock/index``, else ``~/.cache/…``."""
    e = os.environ if env is None else env
    if e.get("OPAMLOCK_CACHE"):
        return Path(e["OPAMLOCK_CACHE"]) / "index"
    if e.get("XDG_CACHE_HOME"):
        return Path(e["XDG_CACHE_HOME"]) / "opamlock" / "index"
    return Path.home() / ".cache" / "opamlock" / "index"


@cache
def code_stamp() -> str:
    """A digest of the code whose output the cache stores: a change to it invalidates every entry."""
    import opamlock.opamfile as opamfile_pkg
    import opamlock.version as version_mod
    from opamlock.repository import _parse, compact

    h = hashlib.sha256(str(CACHE_FORMAT).encode())
    paths: list[Path] = sorted(Path(next(iter(opamfile_pkg.__path__))).glob("*.py"))
    paths += [Path(m.__file__) for m in (version_mod, compact, _parse) if m.__file__]
    paths.append(Path(__file__))
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:32]


class Blob:
    """Where trees and opam bytes are read from: memory, or a cache file read piece by piece.

    The file is not mapped: another process truncating it in place would make a mapping fault
    (SIGBUS). ``pread`` on an open descriptor instead sees the version that was opened, since
    opamlock replaces cache files by renaming; damage by anything else reads as garbage, which
    decoding detects.
    """

    def __init__(self, chunks: Sequence[bytes] = (), *, fd: int = -1, base: int = 0) -> None:
        self.chunks = chunks  # in memory: joined only if read (a cache hit never needs them)
        self._data: bytes | None = None
        self._fd = fd
        self._base = base

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)

    def read(self, offset: int, length: int) -> bytes:
        if self._fd >= 0:
            return os.pread(self._fd, length, self._base + offset)
        if self._data is None:
            self._data = b"".join(self.chunks)
        return self._data[offset : offset + length]

    def __del__(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


@dataclass(slots=True)
class Index:
    identity: str
    names: tuple[str, ...]
    versions: tuple[tuple[str, ...], ...]
    entries: tuple[tuple[Entry, ...], ...]
    collisions: tuple[tuple[str, str, str], ...]  # (name, kept spelling, dropped spelling)
    problems: tuple[LoadProblem, ...]
    blob: Blob
    #: Only for an identity that names a commit (``git:…``); content identities leave it empty.
    provenance: Provenance = _UNKNOWN


@dataclass(frozen=True, slots=True)
class LocationRecord:
    """What the last load of one source location found, valid while its fingerprint holds."""

    fingerprint: str
    identity: str
    record: object  # the source's own fingerprint record (see Source.fingerprint)
    provenance: Provenance


def build_index(identity: str, raw: Sequence[RawPackage], parsed: Sequence[Parsed],
                problems: Sequence[LoadProblem], provenance: Provenance = _UNKNOWN) -> Index:
    """Lay out parsed packages; files that failed to parse become problems, not entries."""
    all_problems = list(problems)
    chunks: list[bytes] = []
    size = 0
    by_name: dict[str, dict[Any, list[tuple[str, Entry]]]] = {}
    for pkg, (digest, tree, err) in zip(raw, parsed, strict=True):
        if tree is None:
            msg, line, col = err if err is not None else ("unparsable", 0, 0)
            all_problems.append(LoadProblem(f"{pkg.relpath}/opam", msg, line, col))
            continue
        t_off = size
        o_off = size = t_off + len(tree)
        size += len(pkg.opam)
        chunks += (tree, pkg.opam)
        files = tuple((rel, hashlib.sha256(data).hexdigest()) for rel, data in pkg.files)
        entry: Entry = (pkg.relpath, digest, t_off, len(tree), o_off, len(pkg.opam), files)
        by_name.setdefault(pkg.name, {}).setdefault(version_key(pkg.version), []).append((pkg.version, entry))
    names = tuple(sorted(by_name, key=name_key))
    versions: list[tuple[str, ...]] = []
    entries: list[tuple[Entry, ...]] = []
    collisions: list[tuple[str, str, str]] = []
    for name in names:
        vs: list[str] = []
        es: list[Entry] = []
        for key in sorted(by_name[name]):
            spellings = sorted(by_name[name][key])
            # Equal versions spelled differently: keep the first in byte order, which is also the
            # first met when walking the repository sorted (as git archive lays it out). On the
            # 2026-08-22 snapshot this is what `opam list` shows (5.5.0+introcaml, not +introcaml0).
            kept_v, kept_e = spellings[0]
            vs.append(kept_v)
            es.append(kept_e)
            for dropped_v, _ in spellings[1:]:
                if dropped_v != kept_v:
                    collisions.append((name, kept_v, dropped_v))
        versions.append(tuple(vs))
        entries.append(tuple(es))
    all_problems.sort(key=lambda p: (p.path, p.line, p.col))
    return Index(identity, names, tuple(versions), tuple(entries), tuple(collisions),
                 tuple(all_problems), Blob(chunks), provenance)


class IndexCache:
    """Index files keyed by identity, and location records mapping fingerprints to identities."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_cache_dir()

    def _index_path(self, identity: str) -> Path:
        return self.directory / (hashlib.sha256(identity.encode()).hexdigest()[:40] + ".idx")

    def _location_path(self, kind: str, location: str) -> Path:
        key = hashlib.sha256(f"{kind}\0{location}".encode()).hexdigest()[:40]
        return self.directory / (key + ".loc")

    # -- location records -----------------------------------------------------------------------

    def location_record(self, kind: str, location: str) -> LocationRecord | None:
        """What the last load of this location saved, or None if absent or unusable."""
        try:
            data = self._location_path(kind, location).read_bytes()
            rec = marshal.loads(data)
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if (isinstance(rec, tuple) and len(rec) == 6 and rec[0] == code_stamp()
                and isinstance(rec[1], str) and isinstance(rec[2], str)
                and isinstance(rec[4], str | None) and isinstance(rec[5], int | None)):
            return LocationRecord(rec[1], rec[2], rec[3], Provenance(rec[4], rec[5]))
        return None

    def save_location(self, kind: str, location: str, fingerprint: str, identity: str,
                      record: object, provenance: Provenance = _UNKNOWN) -> None:
        data = marshal.dumps((code_stamp(), fingerprint, identity, record,  # type: ignore[arg-type]
                              provenance.commit, provenance.commit_time))
        # A cache that cannot be written only costs speed.
        with contextlib.suppress(OSError, WriteError):
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self._location_path(kind, location), data)

    # -- indexes -------------------------------------------------------------------------------

    def load(self, identity: str) -> Index | None:
        """The cached index for ``identity``, or None if absent or unusable."""
        path = self._index_path(identity)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        blob = Blob(fd=fd)  # owns fd from here: closed when the last user lets go
        try:
            size = os.fstat(fd).st_size
            head = os.pread(fd, _HEADER.size, 0)
            magic, index_len, blob_len, crc = _HEADER.unpack(head)
            if magic != _MAGIC or _HEADER.size + index_len + blob_len != size:
                return None
            raw = os.pread(fd, index_len, _HEADER.size)
            if zlib.crc32(raw) != crc:
                return None
            fmt, stamp, ident, names, versions, entries, collisions, problems, prov = marshal.loads(raw)
            if fmt != CACHE_FORMAT or stamp != code_stamp() or ident != identity:
                return None
            commit, commit_time = prov
            if not (isinstance(commit, str | None) and isinstance(commit_time, int | None)):
                return None
            blob._base = _HEADER.size + index_len
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: kept by prune()
            return Index(ident, names, versions, entries, collisions,
                         tuple(LoadProblem(*p) for p in problems), blob, Provenance(commit, commit_time))
        except (OSError, ValueError, TypeError, EOFError, struct.error):
            return None

    def save(self, idx: Index) -> bool:
        """Write ``idx`` atomically; False if the cache folder is not writable."""
        problems = tuple((p.path, p.message, p.line, p.col) for p in idx.problems)
        prov = (idx.provenance.commit, idx.provenance.commit_time)
        raw = marshal.dumps((CACHE_FORMAT, code_stamp(), idx.identity, idx.names, idx.versions,
                             idx.entries, idx.collisions, problems, prov))
        header = _HEADER.pack(_MAGIC, len(raw), len(idx.blob), zlib.crc32(raw))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self._index_path(idx.identity), [header, raw, *idx.blob.chunks])
        except (OSError, WriteError):
            return False
        self.prune()
        return True

    def prune(self, keep: int = KEEP_INDEXES, stale_after: float = 3600.0) -> None:
        """Drop all but the ``keep`` most recently used indexes, and temporaries left by a crash.

        A process still reading a removed index keeps its open descriptor, so this is safe
        while other opamlock processes run.
        """
        now = time.time()
        indexes: list[tuple[float, Path]] = []
        with contextlib.suppress(OSError):
            for p in self.directory.iterdir():
                with contextlib.suppress(OSError):
                    mtime = p.stat().st_mtime
                    # atomicfile's temporaries: ".<target name>.<random>.tmp"
                    if p.name.startswith(".") and p.name.endswith(".tmp") and now - mtime > stale_after:
                        p.unlink()
                    elif p.suffix == ".idx":
                        indexes.append((mtime, p))
        indexes.sort(reverse=True)
        for _, p in indexes[keep:]:
            with contextlib.suppress(OSError):
                p.unlink()
