"""Every shipped rule is tested twice: on a tiny universe, and against the real repositories."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from opamlock.mirage.audit import Auditor
from opamlock.mirage.rules import MIRAGE_TARGETS, Rules, default_rules, load_rules
from opamlock.opamfile import parse
from opamlock.package import Package
from opamlock.repository import Universe, load_universe
from opamlock.version import OpamVersion

RULES = default_rules()
DATA = Path(__file__).resolve().parents[1] / "opamlock" / "data" / "mirage-rules.toml"


def universe(spec: dict[str, str]) -> Universe:
    pkgs = []
    for nv, body in spec.items():
        name, _, version = nv.partition(".")
        pkgs.append(Package(name, OpamVersion(version), parse('opam-version: "2.0"\n' + body, nv)))
    return Universe.from_packages(pkgs)


def without_edge(rules: Rules, key: tuple[str, str]) -> Rules:
    return replace(rules, edges={k: e for k, e in rules.edges.items() if k != key})


def test_rules_file_loads_and_every_exception_has_a_reason() -> None:
    r = load_rules(DATA)
    assert r.edges and all(e.reason.strip() for e in r.edges.values())
    shipped = {("tcpip", "cstruct-lwt"), ("conduit-mirage", "conduit-lwt"), ("xenstore", "ounit2")}
    assert shipped <= set(r.edges)
    assert r.unix_markers == {"base-unix", "base-threads"}
    for t in MIRAGE_TARGETS:
        vars_ = r.target_platform(t).vars
        assert vars_["os"] == "linux" and vars_["arch"] == "x86_64"


@pytest.mark.parametrize("edge", sorted(RULES.edges))
def test_each_edge_exception_on_a_toy_universe(edge: tuple[str, str]) -> None:
    src, dst = edge
    u = universe({f"{src}.1": f'depends: ["{dst}"]', f"{dst}.1": 'depends: ["base-unix"]',
                  "base-unix.base": ""})
    assert Auditor(u, rules=RULES).verdict(src).verdict == "compatible"
    v = Auditor(u, rules=without_edge(RULES, edge)).verdict(src)
    assert v.explain() == f"{src}.1 → {dst}.1: depends on base-unix"


@pytest.mark.parametrize("name", sorted(RULES.host_tools))
def test_each_host_tool_is_not_linked(name: str) -> None:
    u = universe({"lib.1": f'depends: ["{name}"]', f"{name}.1": 'depends: ["base-unix"]',
                  "base-unix.base": ""})
    assert Auditor(u).verdict("lib").verdict == "compatible"


def test_conf_classification_is_deliberate() -> None:
    for tool in ("conf-m4", "conf-pkg-config", "conf-autoconf", "conf-cmake", "conf-python-3",
                 "conf-rust-2021", "conf-perl-ipc-system-simple", "conf-mingw-w64-gcc-x86_64"):
        assert RULES.is_conf_tool(tool) and not RULES.is_conf_library(tool), tool
    for lib in ("conf-gmp", "conf-libffi", "conf-libssl", "conf-zlib", "conf-sqlite3", "conf-libev",
                "conf-tzdata", "conf-some-future-library"):
        assert RULES.is_conf_library(lib), lib
    assert not RULES.is_conf_library("gmp")


def test_toolchain_packages_are_not_linked() -> None:
    u = universe({"lib.1": 'depends: ["ocaml" {>= "4.14"}]',
                  "ocaml.5.3.0": 'depends: ["ocaml-base-compiler"]',
                  "ocaml-base-compiler.5.3.0": 'depends: ["base-unix" {post} "base-threads"]',
                  "base-unix.base": "", "base-threads.base": ""})
    assert Auditor(u).verdict("lib").verdict == "compatible"


# -- against the corpus ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def layered(snapshot_dir: Path, overlays_dir: Path) -> Universe:
    return load_universe([overlays_dir, snapshot_dir])


@pytest.mark.corpus
@pytest.mark.parametrize("edge", sorted(RULES.edges))
def test_each_edge_exception_exists_in_the_corpus_and_matters(
    layered: Universe, edge: tuple[str, str]
) -> None:
    src, dst = edge
    newest = layered.latest(src)
    assert dst in newest.depends_formula().names(), f"{newest.nv} no longer depends on {dst}: drop the rule"
    a = Auditor(layered, rules=RULES)
    assert a.verdict(dst).verdict == "incompatible", "the rule excuses an edge to something Unix-bound"
    assert a.verdict(src).verdict == "compatible"
    assert Auditor(layered, rules=without_edge(RULES, edge)).verdict(src).verdict == "incompatible"


@pytest.mark.corpus
def test_siblings_exist_and_are_portable(layered: Universe) -> None:
    a = Auditor(layered, rules=RULES)
    for unix, portable in sorted(RULES.siblings.items()):
        assert unix in layered and portable in layered, (unix, portable)
        assert a.verdict(unix).verdict == "incompatible", unix
        if a.verdict(portable).verdict == "incompatible":
            # The audit never suggests a sibling it finds Unix-bound itself.
            assert a.verdict(unix).sibling is None
        else:
            assert a.verdict(unix).sibling == portable
    # Most are portable; git-mirage is not per metadata (git → carton-git → base-unix).
    flagged = sorted(p for p in RULES.siblings.values() if a.verdict(p).verdict == "incompatible")
    assert flagged == ["git-mirage"]


@pytest.mark.corpus
def test_conf_tools_listed_exist_in_the_corpus(layered: Universe) -> None:
    missing = sorted(n for n in RULES.conf_tools if n not in layered)
    assert missing == [], "listed conf tools absent from the snapshot"
    # Every conf-* of the snapshot falls on one side, and the libraries keep a depexts or a C probe.
    confs = [n for n in layered.names() if n.startswith("conf-")]
    assert len(confs) > 300
    assert sum(RULES.is_conf_library(n) for n in confs) > sum(RULES.is_conf_tool(n) for n in confs)
