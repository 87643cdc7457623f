"""Laws of opam's version order: a total order, agreeing with its sort key and with hashing.

Each property is checked against an independent, direct transcription of Debian's comparison
(character by character, as ``OpamVersionCompare`` walks the strings), so the precomputed key in
:mod:`opamlock.version` is tested against the algorithm it claims to implement.
"""

from __future__ import annotations

import itertools
from functools import cmp_to_key

from hypothesis import given, settings
from hypothesis import strategies as st

from opamlock.version import OpamVersion, compare_versions, version_key

# Versions built from the characters that matter: digits (with leading zeros), letters, ~, the
# separators . + _ and the revision separator -.
versions = st.text(alphabet="0012789abzAZ~.+_-", min_size=1, max_size=12)


def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isascii() and c.isalpha():
        return ord(c)
    return ord(c) + 256


def _cmp_part(x: str, y: str) -> int:
    """Debian's ``verrevcmp`` on one part, written independently of the key construction."""
    i = j = 0
    while i < len(x) or j < len(y):
        # Non-digit prefix, compared character by character; the end of a run weighs 0.
        while (i < len(x) and not x[i].isdigit()) or (j < len(y) and not y[j].isdigit()):
            ac = _order(x[i]) if i < len(x) and not x[i].isdigit() else 0
            bc = _order(y[j]) if j < len(y) and not y[j].isdigit() else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1 if i < len(x) and not x[i].isdigit() else 0
            j += 1 if j < len(y) and not y[j].isdigit() else 0
            if ac == 0:
                break
        si, sj = i, j
        while i < len(x) and x[i].isdigit():
            i += 1
        while j < len(y) and y[j].isdigit():
            j += 1
        a = int(x[si:i] or "0")
        b = int(y[sj:j] or "0")
        if a != b:
            return -1 if a < b else 1
    return 0


def _reference(a: str, b: str) -> int:
    ua, _, ra = a.rpartition("-") if "-" in a else (a, "", "")
    ub, _, rb = b.rpartition("-") if "-" in b else (b, "", "")
    return _cmp_part(ua, ub) or _cmp_part(ra, rb)


@settings(max_examples=500)
@given(versions, versions)
def test_agrees_with_direct_transcription(a: str, b: str) -> None:
    assert compare_versions(a, b) == _reference(a, b)


@given(versions, versions)
def test_antisymmetric(a: str, b: str) -> None:
    assert compare_versions(a, b) == -compare_versions(b, a)


@given(versions)
def test_reflexive(a: str) -> None:
    assert compare_versions(a, a) == 0
    assert OpamVersion(a) == OpamVersion(a)


@settings(max_examples=300)
@given(versions, versions, versions)
def test_transitive(a: str, b: str, c: str) -> None:
    x, y, z = sorted([a, b, c], key=version_key)
    assert compare_versions(x, y) <= 0
    assert compare_versions(y, z) <= 0
    assert compare_versions(x, z) <= 0
    if compare_versions(x, y) == 0 and compare_versions(y, z) == 0:
        assert compare_versions(x, z) == 0


@given(versions, versions)
def test_total_and_consistent_with_operators(a: str, b: str) -> None:
    va, vb = OpamVersion(a), OpamVersion(b)
    c = compare_versions(a, b)
    assert [va < vb, va == vb, va > vb].count(True) == 1
    assert (va < vb) == (c < 0)
    assert (va <= vb) == (c <= 0)
    assert (va > vb) == (c > 0)
    assert (va >= vb) == (c >= 0)
    assert (va != vb) == (c != 0)


@given(versions, versions)
def test_equality_iff_equal_hash_and_key(a: str, b: str) -> None:
    va, vb = OpamVersion(a), OpamVersion(b)
    assert (va == vb) == (va.key == vb.key)
    if va == vb:
        assert hash(va) == hash(vb)
    # str() keeps each spelling, whatever the order says.
    assert str(va) == a and str(vb) == b


@given(st.lists(versions, max_size=15))
def test_sort_by_key_equals_sort_by_comparison(vs: list[str]) -> None:
    by_key = sorted(vs, key=version_key)
    by_cmp = sorted(vs, key=cmp_to_key(compare_versions))
    assert [version_key(v) for v in by_key] == [version_key(v) for v in by_cmp]
    for a, b in itertools.pairwise(by_key):
        assert compare_versions(a, b) <= 0


@given(st.text(alphabet="0123456789", min_size=1, max_size=6), st.integers(0, 3))
def test_leading_zeros_do_not_count(digits: str, zeros: int) -> None:
    assert compare_versions(digits, "0" * zeros + digits) == 0
