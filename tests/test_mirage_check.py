"""``opamlock check --mirage`` on a hand-built lock: findings, chains, overrides, source check, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main
from opamlock.lockfile import (
    Dependency,
    Lock,
    LockedPackage,
    LockedPlatform,
    LockedRepository,
    LockedRoot,
    Source,
    dumps,
)
from opamlock.mirage.check import InvalidLockShape, check_nodes, nodes_from_lock, read_lock_nodes
from opamlock.mirage.rules import default_rules

R, B, T = "runtime", "build", "test"
DUNE = (("dune", "build", "-p", "%{name}%"),)


def _pkg(name: str, version: str, deps: list[tuple[str, str]], *, depexts: tuple[str, ...] = (),
         build: tuple[tuple[str, ...], ...] = DUNE, source: bool = True) -> LockedPackage:
    return LockedPackage(
        name=name, version=version, repository="opam-repository", opam_hash="sha256:00",
        depexts=depexts, build=build if source else (),
        source=Source(url=f"https://example.org/{name}.tgz", checksums=("sha256=" + "0" * 64,))
        if source else None,
        depends=tuple(Dependency(name=n, kind=k) for n, k in deps),
    )


def make_lock(extra_root_deps: list[tuple[str, str]] = ()) -> Lock:  # type: ignore[assignment]
    pkgs = [
        _pkg("base-unix", "base", [], source=False),
        _pkg("base-threads", "base", [], source=False),
        _pkg("conf-gmp", "4", [], depexts=("libgmp-dev",), source=False),
        _pkg("dune", "3.20", [("base-unix", R)]),
        _pkg("ocaml", "5.3.0", [], source=False),
        _pkg("fmt", "0.9.0", [("ocaml", R), ("dune", B)]),
        _pkg("lwt", "5.9.0", [("dune", R), ("base-unix", T)]),
        _pkg("cstruct", "6.2.0", [("fmt", R), ("dune", R)]),
        _pkg("cstruct-lwt", "6.2.0", [("cstruct", R), ("lwt", R), ("base-unix", R)]),
        _pkg("tcpip", "9.0.1", [("cstruct", R), ("cstruct-lwt", R), ("lwt", R)]),
        _pkg("gmp", "6.3.0", [("dune", R)]),
        _pkg("zarith", "1.14+dune", [("gmp", R), ("conf-gmp", R), ("dune", R)]),
        _pkg("mtime", "2.2.0", [("ocaml", R)], build=(("ocaml", "pkg/pkg.ml", "build"),)),
        _pkg("mirage-solo5", "0.10.0", [("lwt", R), ("dune", R)]),
        _pkg("mirage-net-unix", "3.0.0", [("cstruct-lwt", R), ("lwt", R), ("dune", R)]),
        _pkg("cohttp-lwt-unix", "6.3.0", [("lwt", R), ("base-unix", R), ("conf-gmp", B)]),
        _pkg("testlib", "1.0", [("base-threads", R)]),
    ]
    root_deps = [("tcpip", R), ("zarith", R), ("mtime", R), ("mirage-solo5", R), ("testlib", T),
                 ("dune", B), *extra_root_deps]
    return Lock(
        inputs_hash="sha256:00", config_hash="sha256:00",
        repositories=(LockedRepository(name="opam-repository", url="repo", identity="sha256:00"),),
        platforms=(LockedPlatform(name="linux-x86_64", vars=(("os", "linux"), ("arch", "x86_64"))),),
        roots=(LockedRoot(name="kernel", version="dev", opam_file="kernel.opam", opam_hash="sha256:00",
                          depends=tuple(Dependency(name=n, kind=k) for n, k in root_deps)),),
        packages=tuple(pkgs),
    )


def _project(tmp_path: Path, lock: Lock, mirage: str = "") -> Path:
    (tmp_path / "opamlock.toml").write_text(
        '[[repository]]\nname = "opam-repository"\npath = "repo"\n\n[mirage]\ntargets = ["hvt"]\n' + mirage
    )
    (tmp_path / "opamlock.lock").write_text(dumps(lock))
    return tmp_path


def _check(root: Path, *extra: str) -> tuple[int, str]:
    args = ["check", "--mirage", "--project", str(root), *extra]
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    return r.exit_code, r.output


def test_clean_lock_passes_with_warnings_only(tmp_path: Path) -> None:
    code, out = _check(_project(tmp_path, make_lock()))
    assert code == 0, out
    # tcpip→cstruct-lwt is excused; zarith's gmp satisfies its `gmp | conf-gmp`; test deps do not link.
    assert "error:" not in out
    assert "warning: mtime.2.2.0 does not build with dune" in out
    assert "mirage check (hvt): ok: 9 linked packages, 0 error(s), 1 warning(s)" in out


def test_linked_unix_package_fails_with_chain_sibling_and_silence(tmp_path: Path) -> None:
    root = _project(tmp_path, make_lock([("mirage-net-unix", R)]))
    code, out = _check(root)
    assert code == 1
    assert "error: cstruct-lwt.6.2.0 is Unix-bound: depends on base-unix" in out
    assert "  chain: kernel.dev → mirage-net-unix.3.0.0 → cstruct-lwt.6.2.0" in out
    assert "error: mirage-net-unix.3.0.0 is Unix-bound: a Unix package by name" in out
    assert "portable sibling: mirage-net-solo5" in out
    assert 'from = "mirage-net-unix"\n    to = "cstruct-lwt"' in out
    code, out = _check(root, "--json")
    data = json.loads(out)
    assert not data["ok"]
    by = {f["package"]: f for f in data["findings"]}
    assert by["cstruct-lwt.6.2.0"]["chain"] == ["kernel.dev", "mirage-net-unix.3.0.0", "cstruct-lwt.6.2.0"]
    assert by["cstruct-lwt.6.2.0"]["inherited_by"] == 2  # mirage-net-unix and the root reach it
    assert [w["package"] for w in data["warnings"]] == ["mtime.2.2.0"]


def test_project_overrides_silence_findings_deliberately(tmp_path: Path) -> None:
    allow = ('[mirage.allow]\n"mirage-net-unix" = "only in the unix test target"\n'
             '[[mirage.allow-edge]]\nfrom = "mirage-net-unix"\nto = "cstruct-lwt"\nreason = "same"\n')
    code, out = _check(_project(tmp_path, make_lock([("mirage-net-unix", R)]), allow))
    assert code == 0, out


def test_cohttp_lwt_unix_markers_and_build_edges(tmp_path: Path) -> None:
    code, out = _check(_project(tmp_path, make_lock([("cohttp-lwt-unix", R)])), "--json")
    assert code == 1
    (f,) = json.loads(out)["findings"]
    assert f["package"] == "cohttp-lwt-unix.6.3.0"
    # Its conf-gmp edge is {build}: not a marker. base-unix at runtime and its name are.
    assert f["markers"] == ["a Unix package by name", "depends on base-unix"]
    assert f["sibling"] == "cohttp-mirage"


def test_depexts_on_a_linked_package(tmp_path: Path) -> None:
    lock = make_lock([("conf-gmp", R)])
    nodes, roots = nodes_from_lock(lock)
    rep = check_nodes(nodes, roots, default_rules(), target="hvt", own=["kernel"])
    (f,) = rep.findings
    assert f.markers == ("depends on conf-gmp (system C library)",)
    assert f.package == "kernel.dev" and f.chain == ("kernel.dev",)


def test_source_check_fails_the_check(tmp_path: Path) -> None:
    root = _project(tmp_path, make_lock())
    (root / "src").mkdir()
    (root / "src" / "dune").write_text("(executable\n (name main)\n (libraries tcpip lwt.unix))\n")
    code, out = _check(root)
    assert code == 1
    assert "error: src/dune:3:19: (executable main) links lwt.unix" in out
    code, out = _check(root, "--no-source")
    assert code == 0


def test_usage_and_missing_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = CliRunner().invoke(main, ["check"])
    assert r.exit_code == 2
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["check", "--mirage"])
    assert r.exit_code == 1 and "no opamlock.toml" in r.output


def test_fast_lock_reader_agrees_with_the_lockfile_module(tmp_path: Path) -> None:
    lock = make_lock([("mirage-net-unix", R)])
    root = _project(tmp_path, lock)
    nodes, roots, own = read_lock_nodes(root / "opamlock.lock")
    assert (nodes, roots) == nodes_from_lock(lock) and own == ["kernel"]
    (root / "opamlock.lock").write_text("lock-version = 1\n[[package]]\nversion = '1'\n")
    with pytest.raises(InvalidLockShape):
        read_lock_nodes(root / "opamlock.lock")
    (root / "opamlock.lock").write_text("lock-version = 7\n")
    with pytest.raises(InvalidLockShape):
        read_lock_nodes(root / "opamlock.lock")


def test_pre_commit_entry_point_matches_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from opamlock.mirage.__main__ import main as hook

    root = _project(tmp_path, make_lock([("mirage-net-unix", R)]))
    assert hook(["--project", str(root), "--json"]) == 1
    via_hook = json.loads(capsys.readouterr().out)
    code, out = _check(root, "--json")
    assert code == 1 and json.loads(out) == via_hook
    (root / "opamlock.lock").write_text(dumps(make_lock()))
    assert hook(["--project", str(root)]) == 0
    assert "mirage check (hvt): ok" in capsys.readouterr().out
