"""Classification of single packages for a Mirage target: markers and the runtime formula."""

from __future__ import annotations

import pytest

from opamlock.mirage.classify import (
    Dep,
    MarkerLeaf,
    RAnd,
    ROr,
    builds_with_dune,
    dep_marker,
    edge_markers,
    has_cross_compile_tag,
    monorepo_warnings,
    runtime_formula,
    self_markers,
)
from opamlock.mirage.rules import InvalidRules, default_rules
from opamlock.opamfile import parse
from opamlock.package import Package
from opamlock.version import OpamVersion

RULES = default_rules()
PLAT = RULES.target_platform("hvt")


def pkg(nv: str, body: str) -> Package:
    name, _, version = nv.partition(".")
    return Package(name, OpamVersion(version), parse('opam-version: "2.0"\n' + body, f"{nv}/opam"))


def names(node: object) -> list[str]:
    if node is None:
        return []
    if isinstance(node, Dep | MarkerLeaf):
        return [node.atom.name]
    assert isinstance(node, RAnd | ROr)
    return [n for i in node.items for n in names(i)]


def test_only_runtime_edges_count() -> None:
    p = pkg("a.1", """depends: [
      "ocaml" {>= "4.08"} "dune" {>= "3.0"} "b" {build} "c" {with-test} "d" {with-doc}
      "e" {dev} "f" {post} "g" {with-dev-setup} "h" "i" {>= "1.0"}
    ]""")
    assert names(runtime_formula(p, PLAT, RULES)) == ["h", "i"]


def test_host_tools_toolchain_and_conf_tools_are_not_linked() -> None:
    p = pkg("a.1", """depends: [
      "ocamlfind" "topkg" "cppo" "menhir" "ppx_sexp_conv" "ppxlib" "dune-configurator"
      "ocaml-base-compiler" "conf-pkg-config" "conf-m4" "conf-autoconf" "lwt_ppx" "sexplib0"
    ]""")
    assert names(runtime_formula(p, PLAT, RULES)) == ["sexplib0"]


def test_markers_are_leaves_not_nodes() -> None:
    p = pkg("a.1", 'depends: ["base-unix" "conf-gmp" "base-threads" "fmt"]')
    f = runtime_formula(p, PLAT, RULES)
    assert isinstance(f, RAnd)
    leaves = {i.atom.name: i for i in f.items if isinstance(i, Dep | MarkerLeaf)}
    assert isinstance(leaves["fmt"], Dep)
    assert str(leaves["base-unix"].marker) == "depends on base-unix"  # type: ignore[union-attr]
    assert str(leaves["base-threads"].marker) == "depends on base-threads"  # type: ignore[union-attr]
    assert str(leaves["conf-gmp"].marker) == "depends on conf-gmp (system C library)"  # type: ignore[union-attr]


def test_or_with_a_branch_that_links_nothing_is_dropped() -> None:
    p = pkg("a.1", 'depends: [ ("gmp" | "conf-gmp") ("dune" {>= "3.22"} | "lwt" {< "6"}) ]')
    f = runtime_formula(p, PLAT, RULES)
    assert isinstance(f, ROr)
    assert names(f) == ["gmp", "conf-gmp"]


def test_filters_are_evaluated_for_the_target_platform() -> None:
    p = pkg("a.1", """depends: [ "linux-only" {os = "linux"} "mac-only" {os = "macos"}
                                 "x86" {arch = "x86_64"} "arm" {arch = "arm64"} ]""")
    assert names(runtime_formula(p, PLAT, RULES)) == ["linux-only", "x86"]


def test_depexts_count_only_where_their_filter_holds() -> None:
    p = pkg("a.1", """depexts: [
      ["libffi"] {os = "macos" & os-distribution = "homebrew"}
      ["libffi-devel"] {os-distribution = "fedora"}
    ]""")
    assert self_markers(p.name, p.depexts(_env(p)), RULES) == ()
    q = pkg("b.1", """depexts: [
      ["libffi-dev"] {os-distribution = "debian"}
      ["libffi"] {os = "macos"}
    ]""")
    (m,) = self_markers(q.name, q.depexts(_env(q)), RULES)
    assert m.kind == "depexts" and str(m) == "depexts: libffi-dev"
    r = pkg("c.1", 'depexts: ["libssl-dev"]')
    assert [str(m) for m in self_markers(r.name, r.depexts(_env(r)), RULES)] == ["depexts: libssl-dev"]


def _env(p: Package) -> dict[str, str | bool]:
    from opamlock.mirage.classify import target_env

    return target_env(PLAT, p)


@pytest.mark.parametrize("name", ["cohttp-lwt-unix", "core_unix", "async_unix", "mirage-net-unix", "unix"])
def test_unix_packages_by_name(name: str) -> None:
    (m,) = self_markers(name, (), RULES)
    assert m.kind == "name"


@pytest.mark.parametrize("name", ["cohttp-mirage", "unixy", "tcpip", "mirage-solo5", "lwt"])
def test_portable_names(name: str) -> None:
    assert self_markers(name, (), RULES) == ()


def test_marker_packages_themselves() -> None:
    assert [m.kind for m in self_markers("base-unix", (), RULES)] == ["is-unix"]
    assert [m.kind for m in self_markers("conf-libssl", (), RULES)] == ["is-c-library"]
    assert self_markers("conf-pkg-config", (), RULES) == ()
    assert dep_marker("conf-pkg-config", RULES) is None
    assert dep_marker("dune", RULES) is None


def test_edge_markers_from_a_lock_discount_a_satisfied_portable_alternative() -> None:
    # zarith's ("gmp" | "conf-gmp") with both in the set: gmp satisfies it.
    assert edge_markers("zarith", [("gmp", "runtime"), ("conf-gmp", "runtime")], RULES) == []
    ms = edge_markers("zarith", [("conf-gmp", "runtime")], RULES)
    assert [str(m) for m in ms] == ["depends on conf-gmp (system C library)"]
    assert edge_markers("x", [("base-unix", "build"), ("base-unix", "test")], RULES) == []


def test_monorepo_warnings() -> None:
    make = pkg("a.1", 'build: [["make"]]\nurl { src: "https://x/a.tgz" }')
    dune = pkg("b.1", 'depends: ["dune"]\nurl { src: "https://x/b.tgz" }')
    virtual = pkg("c.1", 'depends: ["conf-gmp"]')
    assert not builds_with_dune(make, PLAT) and builds_with_dune(dune, PLAT)
    assert monorepo_warnings(make, PLAT, tag_required=False) == [
        "does not build with dune (opam-monorepo cannot vendor it)"
    ]
    assert monorepo_warnings(virtual, PLAT, tag_required=False) == []
    tagged = pkg("d.1", 'depends: ["dune"]\ntags: ["cross-compile"]\nurl { src: "https://x/d.tgz" }')
    assert has_cross_compile_tag(tagged) and not has_cross_compile_tag(dune)
    assert monorepo_warnings(dune, PLAT, tag_required=True) == [
        "lacks the cross-compile tag that other versions of it carry"
    ]
    assert monorepo_warnings(tagged, PLAT, tag_required=True) == []


def test_project_overrides() -> None:
    r = RULES.with_project({
        "allow": {"cstruct-lwt": "we only use Cstruct", "base-threads": "tests only"},
        "allow-edge": [{"from": "a", "to": "b", "reason": "only a.unix"}],
    })
    assert self_markers("cstruct-lwt", (), r) == ()
    assert dep_marker("base-threads", r) is None
    rule = r.edge_rule("a", "b")
    assert rule is not None and rule.origin == "opamlock.toml"
    p = pkg("a.1", 'depends: ["b" "c"]')
    assert names(runtime_formula(p, PLAT, r)) == ["c"]
    with pytest.raises(InvalidRules):
        RULES.with_project({"allow": ["x"]})
    with pytest.raises(InvalidRules):
        RULES.with_project({"allow-edge": [{"from": "a", "to": "b"}]})
    with pytest.raises(InvalidRules):
        RULES.target_platform("qubes")
