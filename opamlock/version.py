"""opam version numbers and their order.

opam orders versions with Debian's algorithm (``opamVersionCompare.ml``), minus epochs:

1. split at the *last* ``-`` into upstream and revision, compare upstreams, then revisions;
2. each part alternates a non-digit run and a digit run, starting with a (maybe empty) non-digit run;
3. non-digit runs compare character by character with ``~`` < end of run < letters < anything else;
4. digit runs compare as integers, so leading zeros vanish.

Everything compares through one precomputed key, so sorting, hashing and the six comparisons
always agree. Versions such as ``5.5.0+introcaml`` and ``5.5.0+introcaml0`` are *equal*
(an empty digit run counts as 0): they hash alike, and ``str()`` keeps each one's own spelling.

>>> OpamVersion("1.0~beta") < OpamVersion("1.0") < OpamVersion("1.0.1")
True
>>> OpamVersion("0.01.0") == OpamVersion("0.1.0")
True
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from opamlock.errors import OpamlockError

__all__ = ["InvalidVersion", "OpamVersion", "compare_versions", "version_key"]

# A key is a tuple of alternating (run, number) pairs; each run is a tuple of character weights.
_Key = tuple[tuple[tuple[int, ...], int], ...]

_RUNS = re.compile(r"([^0-9]*)([0-9]*)")
# Characters opam's lexer accepts inside a version (``OpamPackage.Version.of_string`` is laxer,
# but a version with spaces or quotes cannot come out of a well-formed opam file or atom).
_VALID = re.compile(r"[A-Za-z0-9_+.~\-]+\Z")
_END = (0,)
_ZERO_PAIR: tuple[tuple[int, ...], int] = (_END, 0)


class InvalidVersion(OpamlockError, ValueError):
    """A string that cannot be an opam version (empty, or with forbidden characters)."""


def _char_weight(c: str) -> int:
    if c == "~":
        return -1
    if c.isascii() and c.isalpha():
        return ord(c)
    return ord(c) + 256


def _part_key(part: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    pairs: list[tuple[tuple[int, ...], int]] = []
    for m in _RUNS.finditer(part):
        text, digits = m.group(1), m.group(2)
        if not text and not digits and pairs:
            break  # (The empty string still gets its one leading (empty run, 0) pair.)
        run = tuple(_char_weight(c) for c in text) + _END
        pairs.append((run, int(digits) if digits else 0))
        if m.end() == len(part):
            break
    # A trailing (end, 0) sentinel stands for "exhausted". Only the first pair can have an empty
    # non-digit run, so no key is a proper prefix of another and tuple order equals opam's order.
    pairs.append(_ZERO_PAIR)
    return tuple(pairs)


@lru_cache(maxsize=65536)
def version_key(s: str) -> tuple[_Key, _Key]:
    """The sort key of a version string: equal keys exactly when opam calls them equal."""
    upstream, sep, revision = s.rpartition("-")
    if not sep:
        upstream, revision = s, ""
    return (_part_key(upstream), _part_key(revision))


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1, as opam's ``OpamVersionCompare.compare``."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


class OpamVersion:
    """An immutable opam version: compares by opam's order, prints as spelled."""

    __slots__ = ("_key", "_s")

    def __init__(self, s: str) -> None:
        if not isinstance(s, str) or not s:
            raise InvalidVersion(f"invalid version {s!r}: a version cannot be empty")
        self._s = s
        self._key = version_key(s)

    @classmethod
    def parse(cls, s: str) -> OpamVersion:
        """Like the constructor, but also rejects characters opam versions never contain."""
        if not _VALID.match(s):
            raise InvalidVersion(
                f"invalid version {s!r}",
                hint="opam versions use letters, digits and the characters _ + . ~ -",
            )
        return cls(s)

    @property
    def key(self) -> tuple[_Key, _Key]:
        return self._key

    def __str__(self) -> str:
        return self._s

    def __repr__(self) -> str:
        return f"OpamVersion({self._s!r})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, OpamVersion):
            return NotImplemented
        return self._key == other._key

    def __ne__(self, other: Any) -> bool:
        if not isinstance(other, OpamVersion):
            return NotImplemented
        return self._key != other._key

    def __lt__(self, other: OpamVersion) -> bool:
        if not isinstance(other, OpamVersion):
            return NotImplemented
        return self._key < other._key

    def __le__(self, other: OpamVersion) -> bool:
        if not isinstance(other, OpamVersion):
            return NotImplemented
        return self._key <= other._key

    def __gt__(self, other: OpamVersion) -> bool:
        if not isinstance(other, OpamVersion):
            return NotImplemented
        return self._key > other._key

    def __ge__(self, other: OpamVersion) -> bool:
        if not isinstance(other, OpamVersion):
            return NotImplemented
        return self._key >= other._key
