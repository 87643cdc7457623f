"""why/tree over a hand-built lock, and lock diffs in opam's version order."""

from __future__ import annotations

import pytest

from opamlock.errors import OpamlockError
from opamlock.graph import lock_graph, render_path, tree_lines, why
from opamlock.lockdiff import diff_locks, render_diff
from opamlock.lockfile import (
    Dependency,
    Lock,
    LockedPackage,
    LockedPlatform,
    LockedRepository,
    LockedRoot,
)

LINUX = LockedPlatform(name="linux-x86_64", vars=(("os", "linux"),))
MACOS = LockedPlatform(name="macos-arm64", vars=(("os", "macos"),))


def d(name: str, kind: str = "runtime") -> Dependency:
    return Dependency(name=name, kind=kind)


def p(name: str, version: str, *deps: Dependency, platforms: tuple[str, ...] = ()) -> LockedPackage:
    return LockedPackage(
        name=name, version=version, repository="r", opam_hash="h", depends=deps, platforms=platforms
    )


def lock(
    packages: list[LockedPackage],
    roots: list[LockedRoot] | None = None,
    platforms: tuple[LockedPlatform, ...] = (LINUX,),
) -> Lock:
    return Lock(
        inputs_hash="i",
        config_hash="c",
        repositories=(LockedRepository(name="r", url="r", identity="x"),),
        platforms=platforms,
        roots=tuple(roots or ()),
        packages=tuple(packages),
    )


def site() -> Lock:
    """app -> cohttp-mirage -> {uri, cstruct}; app -> tcpip -> cstruct; dune is build-only."""
    return lock(
        [
            p("cohttp-mirage", "6.0.0", d("uri"), d("cstruct"), d("dune", "build")),
            p("tcpip", "9.0.1", d("cstruct"), d("dune", "build")),
            p("uri", "4.4.0", d("dune", "build")),
            p("cstruct", "6.2.0", d("dune", "build")),
            p("dune", "3.20.2"),
            p("alcotest", "1.9.0", d("dune", "build")),
        ],
        [
            LockedRoot(
                name="app",
                version="dev",
                opam_file="app.opam",
                opam_hash="h",
                depends=(d("cohttp-mirage"), d("tcpip"), d("dune", "build"), d("alcotest", "test")),
            )
        ],
    )


def test_graph_merges_kinds_of_parallel_edges() -> None:
    lk = lock(
        [p("a", "1", d("b"), d("b", "build")), p("b", "1")],
        [LockedRoot(name="app", version="dev", opam_file="app.opam", opam_hash="h", depends=(d("a"),))],
    )
    g = lock_graph(lk)
    assert g.edges["a", "b"]["kinds"] == ("build", "runtime")
    assert g.nodes["app"]["root"] and not g.nodes["a"]["root"]


def test_why_gives_all_shortest_paths_with_edge_kinds() -> None:
    paths = [render_path(x) for x in why(site(), "cstruct")]
    assert paths == [
        "app.dev -> cohttp-mirage.6.0.0 -> cstruct.6.2.0",
        "app.dev -> tcpip.9.0.1 -> cstruct.6.2.0",
    ]
    assert [render_path(x) for x in why(site(), "dune")] == ["app.dev -> dune.3.20.2 (build)"]
    assert [render_path(x) for x in why(site(), "dune", kinds={"runtime"})] == []
    assert [render_path(x) for x in why(site(), "alcotest")] == ["app.dev -> alcotest.1.9.0 (test)"]


def test_why_of_an_unknown_package_is_an_error() -> None:
    with pytest.raises(OpamlockError, match="nosuch is not in the lock"):
        why(site(), "nosuch")


def test_tree_runtime_only_and_all_kinds() -> None:
    assert tree_lines(site()) == [
        "app dev",
        "├── cohttp-mirage 6.0.0",
        "│   ├── cstruct 6.2.0",
        "│   └── uri 4.4.0",
        "└── tcpip 9.0.1",
        "    └── cstruct 6.2.0",
    ]
    full = tree_lines(site(), kinds=None)
    assert full[:4] == [
        "app dev",
        "├── alcotest 1.9.0 (test)",
        "│   └── dune 3.20.2 (build)",
        "├── cohttp-mirage 6.0.0",
    ]
    # A subtree already shown is not expanded again; leaves are never marked.
    assert "│   ├── cstruct 6.2.0" in full and "    ├── cstruct 6.2.0 (*)" in full


def test_platform_specific_records() -> None:
    lk = lock(
        [p("a", "1", platforms=("linux-x86_64",)), p("a", "2", platforms=("macos-arm64",))],
        [LockedRoot(name="app", version="dev", opam_file="app.opam", opam_hash="h", depends=(d("a"),))],
        platforms=(LINUX, MACOS),
    )
    assert tree_lines(lk, "macos-arm64") == ["app dev", "└── a 2"]
    assert tree_lines(lk, "linux-x86_64") == ["app dev", "└── a 1"]


def test_diff_in_opam_version_order_per_platform() -> None:
    old = lock([p("a", "1.9"), p("b", "2.0"), p("c", "1.0"), p("gone", "1")], platforms=(LINUX, MACOS))
    new = lock(
        [
            p("a", "1.10"),
            p("b", "2.0~rc1"),
            LockedPackage(name="c", version="1.0", repository="r", opam_hash="h2"),
            p("new", "0.1", platforms=("macos-arm64",)),
        ],
        platforms=(LINUX, MACOS),
    )
    diffs = diff_locks(old, new)
    assert [x.platform for x in diffs] == ["linux-x86_64", "macos-arm64"]
    assert diffs[0].upgraded == (("a", "1.9", "1.10"),)  # 1.10 > 1.9 in opam's order
    assert diffs[0].downgraded == (("b", "2.0", "2.0~rc1"),)  # ~ sorts before the release
    assert diffs[0].changed == (("c", "1.0"),)
    assert diffs[0].removed == (("gone", "1"),) and diffs[0].added == ()
    assert diffs[1].added == (("new", "0.1"),)
    assert render_diff(diffs) == [
        "platform linux-x86_64:",
        "  - gone 1",
        "  ↑ a 1.9 -> 1.10",
        "  ↓ b 2.0 -> 2.0~rc1",
        "  ~ c 1.0 (same version, metadata changed)",
        "platform macos-arm64:",
        "  + new 0.1",
        "  - gone 1",
        "  ↑ a 1.9 -> 1.10",
        "  ↓ b 2.0 -> 2.0~rc1",
        "  ~ c 1.0 (same version, metadata changed)",
    ]
    assert all(x.empty for x in diff_locks(old, old))
