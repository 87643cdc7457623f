"""The static audit fixpoint on small hand-written universes, and its law against brute force."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from opamlock.mirage.audit import Auditor, avoid_predicate
from opamlock.mirage.report import render
from opamlock.mirage.rules import default_rules
from opamlock.opamfile import parse
from opamlock.package import Package
from opamlock.repository import Universe
from opamlock.version import OpamVersion


def universe(spec: Mapping[str, str]) -> Universe:
    pkgs = []
    for nv, body in spec.items():
        name, _, version = nv.partition(".")
        text = 'opam-version: "2.0"\n' + body
        pkgs.append(Package(name, OpamVersion(version), parse(text, f"{nv}/opam"), repository="toy"))
    return Universe.from_packages(pkgs)


TOY = {
    "base-unix.base": "",
    "conf-gmp.1": 'depexts: ["libgmp-dev"]',
    "dune.3.0": 'depends: ["base-unix"]',
    "fmt.1": 'depends: ["dune" {>= "2.0"}]',
    "lwt.5": 'depends: ["dune" "base-unix" {with-test}]',
    "cstruct.6": 'depends: ["dune" "fmt"]',
    "cstruct-lwt.6": 'depends: ["cstruct" {= version} "lwt" "base-unix"]',
    "cstruct.7": 'depends: ["dune" "fmt"]',
    "tcpip.9": 'depends: ["cstruct" {>= "6"} "cstruct-lwt" "lwt"]',
    "gmp.6": 'depends: ["dune"]',
    "zarith.1": 'depends: ["conf-gmp"]',
    "zarith.2": 'depends: [("gmp" | "conf-gmp")]',
    "old.1": 'depends: ["zarith" {< "2"}]',
    "new.1": 'depends: ["zarith"]',
    "mid.1": 'depends: ["old"]',
    "top.1": 'depends: ["mid" "fmt"]',
    "ghost.1": 'depends: ["no-such-package"]',
    "onghost.1": 'depends: ["ghost" "fmt"]',
    "either.1": 'depends: ["ghost" | "old"]',
    "maconly.1": 'available: os = "macos"\ndepends: ["fmt"]',
    "usesmac.1": 'depends: ["maconly"]',
    "ping.1": 'depends: ["pong" "fmt"]',
    "pong.1": 'depends: ["ping"]',
    "server-unix.1": 'depends: ["fmt"]',
    "ssl.1": 'depends: ["conf-libssl"]',
    "conf-libssl.1": "",
    "threaded.1": 'depends: ["base-threads"]',
    "base-threads.base": "",
    "bytes-only.1": 'depends: ["base-bytes"]',
    "base-bytes.base": "",
}


def test_known_verdicts_and_chains_on_a_toy_universe() -> None:
    a = Auditor(universe(TOY), target="hvt")
    v = {n: a.verdict(n) for n in ("fmt", "lwt", "cstruct-lwt", "zarith", "new", "old", "mid", "top")}
    assert v["fmt"].verdict == "compatible"  # its host tool dune needs unix: does not count
    assert v["lwt"].verdict == "compatible"  # base-unix only {with-test}
    assert v["cstruct-lwt"].verdict == "incompatible"
    assert v["cstruct-lwt"].explain() == "cstruct-lwt.6: depends on base-unix"
    assert v["zarith"].verdict == "compatible"  # zarith.2: gmp | conf-gmp
    assert v["new"].verdict == "compatible"
    assert v["top"].verdict == "incompatible"
    assert v["top"].chain == ("top.1", "mid.1", "old.1", "zarith.1")
    assert v["top"].marker == "depends on conf-gmp (system C library)"
    assert a.verdict("zarith", OpamVersion("1")).verdict == "incompatible"


def test_shipped_edge_rule_tcpip_cstruct_lwt() -> None:
    a = Auditor(universe(TOY), target="hvt")
    assert a.verdict("tcpip").verdict == "compatible"
    # Without the shipped rule, tcpip inherits cstruct-lwt's base-unix.
    bare = default_rules()
    from dataclasses import replace

    no_rule = replace(bare, edges={k: e for k, e in bare.edges.items() if k != ("tcpip", "cstruct-lwt")})
    b = Auditor(universe(TOY), target="hvt", rules=no_rule)
    assert b.verdict("tcpip").explain() == "tcpip.9 → cstruct-lwt.6: depends on base-unix"


def test_unknown_for_missing_and_unavailable() -> None:
    a = Auditor(universe(TOY), target="hvt")
    g = a.verdict("ghost")
    assert g.verdict == "unknown" and "no-such-package" in g.marker
    assert a.verdict("onghost").chain == ("onghost.1", "ghost.1")
    # `ghost | old`: one branch unknown, the other incompatible: unknown wins over incompatible.
    assert a.verdict("either").verdict == "unknown"
    m = a.verdict("maconly")
    assert m.verdict == "unknown" and m.marker == "not available on the target platform"
    assert a.verdict("usesmac").verdict == "unknown"
    assert a.verdict("nope").verdict == "unknown"


def test_cycles_without_unix_are_compatible() -> None:
    a = Auditor(universe(TOY), target="hvt")
    assert a.verdict("ping").verdict == "compatible"
    assert a.verdict("pong").verdict == "compatible"


def test_markers_by_name_threads_and_c_libraries() -> None:
    a = Auditor(universe(TOY), target="hvt")
    assert a.verdict("server-unix").marker == "a Unix package by name"
    assert a.verdict("ssl").marker == "depends on conf-libssl (system C library)"
    assert a.verdict("threaded").marker == "depends on base-threads"
    assert a.verdict("bytes-only").verdict == "compatible"
    assert a.verdict("conf-gmp").verdict == "incompatible"


def test_inherited_by_counts_reverse_dependencies_through_the_chain() -> None:
    a = Auditor(universe(TOY), target="hvt")
    by = {v.name: v for v in a.audit()}
    # old ← mid ← top (chains pass through old.1); zarith's newest is compatible.
    assert by["old"].inherited_by == 2
    assert by["mid"].inherited_by == 1
    assert by["top"].inherited_by == 0
    assert by["cstruct-lwt"].inherited_by == 0  # tcpip is excused by the rule
    asked = a.audit([("old", None)])
    assert [(v.nv, v.inherited_by) for v in asked] == [("old.1", 2)]


def test_avoid_predicate_marks_unix_bound_candidates_but_not_tools() -> None:
    u = universe(TOY)
    avoid = avoid_predicate(u, "hvt")
    assert avoid(u.package("zarith", OpamVersion("1")))
    assert not avoid(u.package("zarith", OpamVersion("2")))
    assert avoid(u.package("conf-gmp", OpamVersion("1")))
    assert not avoid(u.package("dune", OpamVersion("3.0")))  # a host tool
    assert not avoid(u.package("base-unix", OpamVersion("base")))  # the compiler installs it


def test_reports_in_every_format() -> None:
    a = Auditor(universe(TOY), target="hvt")
    vs = a.audit([("top", None), ("fmt", None), ("ghost", None)])
    text = render(vs, "text", target="hvt")
    assert "top.1: incompatible\n  chain: top.1 → mid.1 → old.1 → zarith.1" in text
    assert "1 compatible, 1 incompatible, 1 unknown" in text
    import json

    data = json.loads(render(vs, "json", target="hvt"))
    assert data["summary"] == {"compatible": 1, "incompatible": 1, "unknown": 1}
    assert data["packages"][0]["chain"] == ["top.1", "mid.1", "old.1", "zarith.1"]
    md = render(vs, "md", target="hvt")
    assert "| `top.1` | incompatible | top.1 → mid.1 → old.1 → zarith.1 |" in md
    html = render(vs, "html", target="hvt")
    assert html.count("<tr data-name=") == 3 and "<script>" in html and "http" not in html.split("<body>")[1]


# -- the law: on acyclic universes the fixpoint equals the recursive definition ----------------

_NAMES = [f"p{i}" for i in range(6)]


@st.composite
def acyclic_universes(draw: st.DrawFn) -> dict[str, str]:
    spec: dict[str, str] = {"base-unix.base": ""}
    for i, name in enumerate(_NAMES):
        for ver in range(1, draw(st.integers(1, 2)) + 1):
            later = [*_NAMES[i + 1:], "missing", "base-unix"]
            conj = []
            for _ in range(draw(st.integers(0, 3))):
                branches = []
                for _ in range(draw(st.integers(1, 2))):
                    dep = draw(st.sampled_from(later))
                    c = draw(st.sampled_from(["", ' {>= "2"}', ' {< "2"}', ' {with-test}']))
                    branches.append(f'"{dep}"{c}')
                conj.append("(" + " | ".join(branches) + ")" if len(branches) > 1 else branches[0])
            body = "depends: [" + " ".join(conj) + "]"
            if draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()):
                body += '\ndepexts: ["libfoo-dev"]'
            spec[f"{name}.{ver}"] = body
    return spec


def _brute(u: Universe, name: str, version: OpamVersion, memo: dict[tuple[str, str], str]) -> str:
    from opamlock.formula import And, Atom, Or, Resolved
    from opamlock.mirage.classify import target_env

    key = (name, str(version))
    if key in memo:
        return memo[key]
    rules = default_rules()
    plat = rules.target_platform("hvt")
    p = u.package(name, version)
    if p.depexts(target_env(plat, p)) or name == "base-unix":
        memo[key] = "I"
        return "I"

    def ev(f: Resolved | None) -> str:
        if f is None:
            return "C"
        if isinstance(f, Atom):
            if f.kind != "runtime":
                return "C"
            if f.name == "base-unix":
                return "I"
            cands = [v for v in (u.versions(f.name) if f.name in u else []) if f.matches(v)]
            if not cands:
                return "U"
            vs = {_brute(u, f.name, v, memo) for v in cands}
            return "C" if "C" in vs else "U" if "U" in vs else "I"
        vs = {ev(i) for i in f.items}
        if isinstance(f, And):
            return "I" if "I" in vs else "U" if "U" in vs else "C"
        assert isinstance(f, Or)
        return "C" if "C" in vs else "U" if "U" in vs else "I"

    out = ev(p.depends_formula().resolve(target_env(plat, p)))
    memo[key] = out
    return out


@settings(max_examples=60, deadline=None)
@given(acyclic_universes())
def test_fixpoint_matches_brute_force_on_acyclic_universes(spec: dict[str, str]) -> None:
    u = universe(spec)
    a = Auditor(u, target="hvt")
    memo: dict[tuple[str, str], str] = {}
    for name in _NAMES:
        for v in u.versions(name):
            want = {"C": "compatible", "I": "incompatible", "U": "unknown"}[_brute(u, name, v, memo)]
            got = a.verdict(name, v)
            assert got.verdict == want, (name, str(v), got.explain())
            if got.verdict == "incompatible":
                # The chain is a real path of dependencies ending at a marked package.
                assert got.chain[0] == f"{name}.{v}" and got.marker


def test_audit_cli_on_a_repository_folder(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from opamlock.cli import main

    repo = tmp_path / "repo"
    (repo / "repo").parent.mkdir(parents=True, exist_ok=True)
    (repo / "repo").write_text('opam-version: "2.0"\n')
    for nv, body in TOY.items():
        name = nv.partition(".")[0]
        d = repo / "packages" / name / nv
        d.mkdir(parents=True)
        (d / "opam").write_text('opam-version: "2.0"\n' + body)
    run = CliRunner().invoke
    r = run(main, ["audit", "top", "fmt", "--repo", str(repo), "--format", "json"])
    assert r.exit_code == 1  # a named package is incompatible: a CI gate
    data = json.loads(r.output)
    assert [p["verdict"] for p in data["packages"]] == ["incompatible", "compatible"]
    assert data["packages"][0]["explain"] == (
        "top.1 → mid.1 → old.1 → zarith.1: depends on conf-gmp (system C library)"
    )
    r = run(main, ["audit", "zarith.1", "--repo", str(repo)])
    assert r.exit_code == 1 and "zarith.1: incompatible" in r.output
    out = tmp_path / "all.html"
    r = run(main, ["audit", "--all", "--repo", str(repo), "--format", "html", "-o", str(out)])
    assert r.exit_code == 0 and out.read_text().count("<tr data-name=") == len({n.split(".")[0] for n in TOY})
    assert run(main, ["audit", "--repo", str(repo)]).exit_code == 2
    assert run(main, ["audit", "zarith.9", "--repo", str(repo)]).exit_code == 1


def test_audit_leaves_the_garbage_collector_as_it_found_it() -> None:
    # The audit pauses the collector and moves what it made to the old generation on the way out;
    # nothing may stay frozen or disabled, and an outer pause is respected.
    import gc

    assert gc.isenabled() and gc.get_freeze_count() == 0
    verdicts = Auditor(universe(TOY), target="hvt").audit()
    assert verdicts and gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        Auditor(universe(TOY), target="hvt").audit()
        assert not gc.isenabled()
    finally:
        gc.enable()
