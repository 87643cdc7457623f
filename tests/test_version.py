"""opam's version order (``OpamVersionCompare``): the manual's vectors, Debian's, and equal spellings."""

from __future__ import annotations

import itertools

import pytest

from opamlock.version import InvalidVersion, OpamVersion, compare_versions, version_key

# The ordered sequence from opam's manual ("Version ordering").
MANUAL = [
    "~~", "~", "~beta2", "~beta10", "0.1", "1.0~beta", "1.0", "1.0-test", "1.0.1", "1.0.10", "dev", "trunk",
]


def test_manual_sequence_is_strictly_increasing() -> None:
    for a, b in itertools.pairwise(MANUAL):
        assert compare_versions(a, b) == -1, (a, b)
        assert compare_versions(b, a) == 1, (b, a)
        assert OpamVersion(a) < OpamVersion(b)


def test_sorting_shuffled_manual_sequence_restores_it() -> None:
    shuffled = MANUAL[5:] + MANUAL[:5]
    shuffled.reverse()
    assert sorted(shuffled, key=version_key) == MANUAL
    assert [str(v) for v in sorted(OpamVersion(s) for s in shuffled)] == MANUAL


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # digit runs compare as numbers
        ("1.0", "1.00", 0),
        ("0.1.0", "0.01.0", 0),
        ("0001", "1", 0),
        ("2.30", "2.3", 1),
        ("1.0.10", "1.0.9", 1),
        ("10", "9", 1),
        ("1.99999999999999999999", "1.100000000000000000000", -1),
        # an exhausted part compares as trailing zeros; anything else is bigger, except ~
        ("1", "1.0", -1),
        ("1", "1.", -1),
        ("5.5", "5.5.0", -1),
        ("1.0", "1.0.0", -1),
        ("a", "a0", 0),
        ("a", "a0b", -1),
        ("1~", "1", -1),
        ("a~", "a", -1),
        # ~ sorts before everything, even the end of the string (Debian)
        ("1.0~rc1", "1.0", -1),
        ("1.0~~", "1.0~", -1),
        ("1.0~~a", "1.0~", -1),
        ("1.0~~", "1.0~~a", -1),
        ("1.0~beta2", "1.0~beta10", -1),
        # letters sort before every other non-digit character (Debian)
        ("1.0a", "1.0+", -1),
        ("1.0a", "1.0.", -1),
        ("1.0z", "1.0+", -1),
        ("1.0A", "1.0a", -1),
        ("1.0+a", "1.0.a", -1),
        ("a", "b", -1),
        ("v0.16.0", "1.0", 1),
        # the revision is what follows the last '-'
        ("1.0-1", "1.0", 1),
        ("1.0-1", "1.0-2", -1),
        ("1.0-1", "1.0.1", -1),
        ("1.2.3", "1.2.3-0", 0),
        ("1-x", "1+y", -1),
        ("1-2-3", "1-2-4", -1),
        ("1-10-1", "1-2-1", 1),
        ("1.0-test", "1.0.1", -1),
        # real opam-repository spellings
        ("4.14.2", "5.0.0~alpha1", -1),
        ("5.0.0~alpha1", "5.0.0~beta1", -1),
        ("5.0.0~rc1", "5.0.0", -1),
        ("5.2.1", "5.2.1+options", -1),
        ("v0.15.0", "v0.16.0", -1),
        ("0.9.0", "0.10.0", -1),
        ("5.5.0+introcaml", "5.5.0+introcaml0", 0),
    ],
)
def test_vectors(a: str, b: str, expected: int) -> None:
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == -expected
    assert (version_key(a) == version_key(b)) == (expected == 0)


def test_equal_spellings_are_equal_values_that_keep_their_spelling() -> None:
    a, b = OpamVersion("5.5.0+introcaml"), OpamVersion("5.5.0+introcaml0")
    assert a == b
    assert not a != b  # noqa: SIM202 - __ne__ is implemented separately and must agree
    assert a <= b and a >= b and not a < b and not a > b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert (str(a), str(b)) == ("5.5.0+introcaml", "5.5.0+introcaml0")
    assert repr(b) == "OpamVersion('5.5.0+introcaml0')"


def test_comparing_with_other_types_is_not_implemented() -> None:
    v = OpamVersion("1.0")
    assert v != "1.0"
    assert (v == "1.0") is False
    with pytest.raises(TypeError):
        _ = v < "1.0"  # type: ignore[operator]


@pytest.mark.parametrize("bad", ["", "1.0 beta", '1"', "1:2.0", "1.0/2", "é"])
def test_parse_rejects_what_opam_rejects(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        OpamVersion.parse(bad)


def test_parse_accepts_opam_version_characters() -> None:
    assert str(OpamVersion.parse("v1.2_3+a~b-4")) == "v1.2_3+a~b-4"


def test_constructor_rejects_empty_but_is_lax_otherwise() -> None:
    with pytest.raises(InvalidVersion):
        OpamVersion("")
    # The lax constructor still orders anything, as opam's comparison does.
    assert OpamVersion("1 0") > OpamVersion("1")


def test_key_property_matches_version_key() -> None:
    assert OpamVersion("1.2").key == version_key("1.2")
