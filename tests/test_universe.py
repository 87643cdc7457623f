"""Layering repositories into a universe: priorities, shadowing, equal-but-differently-spelled versions."""

from __future__ import annotations

import pytest

from opamlock.opamfile import ast
from opamlock.package import Package
from opamlock.repository import Repository, Universe
from opamlock.version import OpamVersion


def pkg(nv: str, synopsis: str = "", repository: str = "") -> Package:
    name, _, version = nv.partition(".")
    tree = ast.OpamFile([ast.Variable("synopsis", ast.String(synopsis or nv))], f"{nv}/opam")
    return Package(name, OpamVersion(version), tree, repository=repository, opam_hash="sha256:" + "0" * 64)


def synopsis(p: Package) -> str:
    return p.text_field("synopsis") or ""


def test_from_packages_orders_names_and_versions_as_opam() -> None:
    u = Universe.from_packages(
        [pkg("b.1.10"), pkg("b.1.9"), pkg("b.1.0~beta"), pkg("aacplus.1"), pkg("ANSITerminal.0.8"),
         pkg("conf-libmagic.1"), pkg("conf-libMagickCore.1")]
    )
    assert u.names() == ["ANSITerminal", "aacplus", "b", "conf-libMagickCore", "conf-libmagic"]
    assert u.version_strings("b") == ["1.0~beta", "1.9", "1.10"]
    assert u.versions("b") == [OpamVersion("1.0~beta"), OpamVersion("1.9"), OpamVersion("1.10")]
    assert [str(p.version) for p in u.packages("b")] == ["1.0~beta", "1.9", "1.10"]
    assert u.versions("nope") == [] and u.packages("nope") == []
    assert "b" in u and "nope" not in u
    assert len(u) == 7


def test_given_packages_come_back_as_is() -> None:
    p = pkg("x.1")
    u = Universe.from_packages([p])
    assert u.package("x", "1") is p
    assert u.package("x", OpamVersion("1")) is p
    with pytest.raises(KeyError):
        u.package("x", "2")
    with pytest.raises(KeyError):
        u.package("y", "1")


def test_package_lookup_by_equal_version_finds_the_kept_spelling() -> None:
    u = Universe.from_packages([pkg("v.5.5.0+introcaml0"), pkg("v.5.5.0+introcaml")])
    assert u.version_strings("v") == ["5.5.0+introcaml"]
    assert str(u.package("v", "5.5.0+introcaml0").version) == "5.5.0+introcaml"
    (c,) = u.collisions
    assert (c.name, c.kept, c.dropped) == ("v", "5.5.0+introcaml", "5.5.0+introcaml0")
    assert "5.5.0+introcaml0" in c.render()


def test_higher_priority_wins_per_version_and_lower_versions_stay_visible() -> None:
    high = Repository.from_packages(
        [pkg("foo.2.0", "high"), pkg("foo.2.0+dune", "high"), pkg("extra.1", "high")], name="overlay"
    )
    low = Repository.from_packages([pkg("foo.1.0", "low"), pkg("foo.2.0", "low"), pkg("ocaml.5.2.0", "low")],
                                   name="base")
    u = Universe([high, low])
    assert u.names() == ["extra", "foo", "ocaml"]
    assert u.version_strings("foo") == ["1.0", "2.0", "2.0+dune"]
    assert synopsis(u.package("foo", "2.0")) == "high"
    assert synopsis(u.package("foo", "1.0")) == "low"
    assert u.repository_of("foo", "2.0") is high
    assert u.repository_of("foo", "1.0") is low
    assert u.collisions == []  # same spelling shadowed: ordinary layering, not a collision
    # Reversing the priority reverses who wins.
    u2 = Universe([low, high])
    assert synopsis(u2.package("foo", "2.0")) == "low"


def test_cross_repository_equal_versions_keep_the_higher_spelling_and_are_reported() -> None:
    high = Repository.from_packages([pkg("z.1.0", "high")], name="high")
    low = Repository.from_packages([pkg("z.1.00", "low"), pkg("z.0.9", "low")], name="low")
    u = Universe([high, low])
    assert u.version_strings("z") == ["0.9", "1.0"]
    assert synopsis(u.package("z", "1.00")) == "high"
    (c,) = u.collisions
    assert (c.kept, c.dropped, c.repository, c.dropped_repository) == ("1.0", "1.00", "high", "low")


def test_in_memory_opam_bytes_are_the_printed_tree() -> None:
    from opamlock.opamfile import parse

    p = pkg("x.1", "hello")
    u = Universe.from_packages([p])
    assert parse(u.opam_bytes("x", "1"), "x").items == p.opam.items
    assert u.files("x", "1") == ()
