"""The audit on the real repositories: known verdicts, and every chain checked against the opam files.

opam-overlays is layered above each opam-repository snapshot, as MirageOS does, target hvt.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opamlock.mirage.audit import Auditor, Verdict
from opamlock.mirage.classify import runtime_formula, target_env
from opamlock.mirage.rules import default_rules
from opamlock.repository import Universe, load_universe
from opamlock.version import OpamVersion

pytestmark = [pytest.mark.corpus]

COMPATIBLE = [
    "tcpip", "dns-server", "tls-mirage", "mirage-crypto-rng-mirage", "arp", "ethernet",
    "mirage-net-solo5", "cohttp-mirage", "conduit-mirage", "git-kv",
]
INCOMPATIBLE = [
    "cohttp-lwt-unix", "core_unix", "async_unix", "mirage-block-unix", "ssl", "ctypes-foreign",
    "conduit-lwt-unix", "mirage-net-unix", "git-unix", "tar-unix",
]


@pytest.fixture(scope="module")
def layered(snapshot_dir: Path, overlays_dir: Path) -> Universe:
    return load_universe([overlays_dir, snapshot_dir])


@pytest.fixture(scope="module")
def auditor(layered: Universe) -> Auditor:
    return Auditor(layered, target="hvt")


def _split(nv: str) -> tuple[str, str]:
    name, _, version = nv.partition(".")
    return name, version


def _runtime_names(u: Universe, nv: str) -> set[str]:
    """Names ``nv`` links, read straight from its opam file (rules applied, markers included)."""
    from opamlock.mirage.classify import Dep, MarkerLeaf

    rules = default_rules()
    name, version = _split(nv)
    f = runtime_formula(u.package(name, OpamVersion(version)), rules.target_platform("hvt"), rules)

    def walk(n: object) -> Iterator[str]:
        if isinstance(n, Dep | MarkerLeaf):
            yield n.atom.name
        elif n is not None:
            for i in n.items:  # type: ignore[attr-defined]
                yield from walk(i)

    return set(walk(f))


def check_chain(u: Universe, v: Verdict) -> None:
    """Each link of the chain is a runtime dependency in the opam files, and the marker holds."""
    assert v.chain[0] == v.nv
    for a, b in zip(v.chain, v.chain[1:], strict=False):
        assert _split(b)[0] in _runtime_names(u, a), f"{a} does not link {b}"
    last = v.chain[-1]
    if v.marker.startswith("depends on "):
        dep = v.marker.removeprefix("depends on ").split(" ")[0]
        assert dep in _runtime_names(u, last), f"{last} does not depend on {dep}"
    elif v.marker.startswith("depexts: "):
        name, version = _split(last)
        p = u.package(name, OpamVersion(version))
        plat = default_rules().target_platform("hvt")
        assert v.marker == "depexts: " + ", ".join(p.depexts(target_env(plat, p)))
    elif v.marker.startswith("is "):
        assert v.marker.startswith(f"is {_split(last)[0]}, ")
    else:
        assert default_rules().unix_name_reason(_split(last)[0]) == v.marker


@pytest.mark.parametrize("name", COMPATIBLE)
def test_known_compatible(auditor: Auditor, name: str) -> None:
    v = auditor.verdict(name)
    assert v.verdict == "compatible", v.explain()


@pytest.mark.parametrize("name", INCOMPATIBLE)
def test_known_incompatible_with_a_correct_chain(auditor: Auditor, layered: Universe, name: str) -> None:
    v = auditor.verdict(name)
    assert v.verdict == "incompatible"
    check_chain(layered, v)


def test_specific_chains(auditor: Auditor) -> None:
    assert auditor.verdict("ssl").explain().endswith("depends on conf-libssl (system C library)")
    foreign = auditor.verdict("ctypes-foreign")  # upstream's newest: a virtual package over libffi
    assert foreign.repository == "opam-repository"
    assert foreign.explain() == f"{foreign.nv}: depends on conf-libffi (system C library)"
    assert auditor.verdict("mirage-block-unix").chain[-1].startswith("cstruct-lwt.")
    assert auditor.verdict("mirage-block-unix").marker == "depends on base-unix"
    assert auditor.verdict("core_unix").marker in ("depends on base-threads", "depends on base-unix")
    assert auditor.verdict("cohttp-lwt-unix").sibling == "cohttp-mirage"
    # git-mirage is the named sibling, but its metadata is Unix-bound too, so none is suggested.
    assert auditor.verdict("git-unix").sibling is None
    assert auditor.verdict("mirage-net-unix").sibling == "mirage-net-solo5"
    # The overlay's dune port of zarith is compatible; upstream's make-built zarith needs libgmp.
    assert auditor.verdict("zarith").repository == "opam-overlays"
    assert auditor.verdict("zarith").verdict == "compatible"
    assert auditor.verdict("zarith", OpamVersion("1.14")).marker == "depends on conf-gmp (system C library)"


@pytest.mark.slow
def test_every_incompatible_chain_in_the_corpus_is_real(auditor: Auditor, layered: Universe) -> None:
    verdicts = auditor.audit()
    assert len(verdicts) == len(layered.names())
    bad = [v for v in verdicts if v.verdict == "incompatible"]
    assert bad and any(v.verdict == "compatible" for v in verdicts)
    for v in bad:
        check_chain(layered, v)
    by = {v.name: v for v in verdicts}
    # cstruct-lwt is where many Unix chains start; packages whose chain passes through it inherit it.
    assert by["cstruct-lwt"].inherited_by >= 5
    assert sum(1 for v in bad if "cstruct-lwt." + by["cstruct-lwt"].version in v.chain[1:]) == (
        by["cstruct-lwt"].inherited_by
    )
