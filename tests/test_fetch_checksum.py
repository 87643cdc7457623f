"""opam checksum strings and their ordering."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opamlock.fetch import Checksum, InvalidChecksum, parse_checksum, parse_checksums, strongest
from opamlock.fetch.checksum import MultiHasher

MD5 = hashlib.md5(b"x").hexdigest()
SHA256 = hashlib.sha256(b"x").hexdigest()
SHA512 = hashlib.sha512(b"x").hexdigest()


def test_parse_each_algorithm() -> None:
    assert parse_checksum(f"md5={MD5}") == Checksum("md5", MD5)
    assert parse_checksum(f"sha256={SHA256}") == Checksum("sha256", SHA256)
    assert parse_checksum(f"SHA512={SHA512.upper()}") == Checksum("sha512", SHA512)


def test_bare_hex_is_md5_as_in_old_opam_files() -> None:
    assert parse_checksum(MD5) == Checksum("md5", MD5)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sha1=" + "0" * 40,
        "sha256=abc",
        f"sha256={SHA256}0",
        "md5=" + "g" * 32,
        f"sha256 {SHA256}",
        "=" + MD5,
    ],
)
def test_invalid(bad: str) -> None:
    with pytest.raises(InvalidChecksum):
        parse_checksum(bad)


def test_strongest_first() -> None:
    cs = parse_checksums([f"md5={MD5}", f"sha512={SHA512}", f"sha256={SHA256}", f"md5={MD5}"])
    assert [c.algo for c in cs] == ["sha512", "sha256", "md5"]
    assert strongest(cs) == Checksum("sha512", SHA512)
    assert strongest([]) is None


@given(st.binary(), st.sampled_from(["md5", "sha256", "sha512"]))
def test_str_round_trips(data: bytes, algo: str) -> None:
    c = Checksum(algo, hashlib.new(algo, data).hexdigest())  # type: ignore[arg-type]
    assert parse_checksum(str(c)) == c


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_multihasher_matches_hashlib_whatever_the_chunking(chunks: list[bytes]) -> None:
    h = MultiHasher()
    for c in chunks:
        h.update(c)
    whole = b"".join(chunks)
    assert h.size == len(whole)
    assert h.digests() == tuple(
        Checksum(a, hashlib.new(a, whole).hexdigest()) for a in ("sha512", "sha256", "md5")
    )
    assert h.first_mismatch(h.digests()) is None
    wrong = Checksum("sha256", "0" * 64)
    assert h.first_mismatch([wrong, h.digests()[2]]) == (wrong, hashlib.sha256(whole).hexdigest())
