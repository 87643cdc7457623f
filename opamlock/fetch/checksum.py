"""opam checksums: ``algo=hex`` strings, their relative strength, and streaming digests.

opam writes checksums as ``md5=…``, ``sha256=…`` or ``sha512=…`` (and very old files a bare md5
hex string). A lock may carry several for one file; we always trust the strongest and, since
hashing all three in one pass costs little, also check the others so a self-contradictory lock is
caught instead of silently half-trusted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from opamlock.fetch.errors import InvalidChecksum

Algo = Literal["md5", "sha256", "sha512"]

#: Weakest first; the index is the strength.
ALGOS: Final[tuple[Algo, ...]] = ("md5", "sha256", "sha512")
_HEX_LEN: Final[dict[str, int]] = {"md5": 32, "sha256": 64, "sha512": 128}
_HEX = re.compile(r"[0-9a-f]+")
CHUNK: Final[int] = 1 << 20


@dataclass(frozen=True, slots=True, order=True)
class Checksum:
    """One expected digest. ``str()`` gives opam's spelling back."""

    algo: Algo
    hex: str

    def __str__(self) -> str:
        return f"{self.algo}={self.hex}"

    @property
    def strength(self) -> int:
        return ALGOS.index(self.algo)


def parse_checksum(text: str) -> Checksum:
    """Parse opam's ``algo=hex``; a bare 32-digit hex string is md5, as opam reads it."""
    raw = text.strip()
    algo, sep, hexpart = raw.partition("=")
    if not sep:
        algo, hexpart = "md5", raw
    algo = algo.lower()
    hexpart = hexpart.lower()
    if algo not in _HEX_LEN:
        raise InvalidChecksum(
            f"unsupported checksum algorithm in {text!r}", hint="opam checksums are md5=, sha256= or sha512="
        )
    if len(hexpart) != _HEX_LEN[algo] or not _HEX.fullmatch(hexpart):
        raise InvalidChecksum(
            f"malformed {algo} checksum {text!r}: expected {_HEX_LEN[algo]} hex digits",
        )
    return Checksum(algo, hexpart)  # type: ignore[arg-type]  # checked against _HEX_LEN above


def parse_checksums(texts: Iterable[str]) -> tuple[Checksum, ...]:
    """Parse and order strongest first, dropping exact duplicates."""
    return sort_strongest_first(parse_checksum(t) for t in texts)


def sort_strongest_first(checksums: Iterable[Checksum]) -> tuple[Checksum, ...]:
    return tuple(sorted(set(checksums), key=lambda c: (-c.strength, c.hex)))


def strongest(checksums: Iterable[Checksum]) -> Checksum | None:
    """The checksum to trust, or None when there is none."""
    best = sort_strongest_first(checksums)
    return best[0] if best else None


class MultiHasher:
    """md5, sha256 and sha512 of one byte stream, fed incrementally.

    Computing all three lets the store file an entry under every algorithm at once, so a later
    lock that only knows the md5 (or only the sha512) of the same bytes still finds it.
    """

    def __init__(self, algos: Iterable[Algo] = ALGOS) -> None:
        self._h = {a: hashlib.new(a) for a in algos}
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        for h in self._h.values():
            h.update(data)
        self.size += len(data)

    def hexdigest(self, algo: Algo) -> str:
        return self._h[algo].hexdigest()

    def digests(self) -> tuple[Checksum, ...]:
        """Every digest computed, strongest first."""
        return tuple(Checksum(a, self._h[a].hexdigest()) for a in reversed(ALGOS) if a in self._h)

    def first_mismatch(self, expected: Iterable[Checksum]) -> tuple[Checksum, str] | None:
        """The strongest expected checksum that disagrees, with the actual hex, or None if all agree."""
        for c in sort_strongest_first(expected):
            actual = self.hexdigest(c.algo)
            if actual != c.hex:
                return c, actual
        return None


def hash_file(path: Path, algos: Iterable[Algo] = ALGOS) -> MultiHasher:
    """Stream a file through the given algorithms (all by default)."""
    h = MultiHasher(algos)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h
