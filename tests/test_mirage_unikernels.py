"""Acceptance: three real MirageOS unikernels lock Mirage-aware and pass ``check --mirage``.

Each fixture project under fixtures/mirage/unikernels declares the packages of a real unikernel
and layers opam-overlays above the 2026-08-22 opam-repository snapshot (linked in from the
corpus, never copied). Adding ``cohttp-lwt-unix`` must make the check fail with the chain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mirage" / "unikernels"
UNIKERNELS = ["unipi", "dns-primary-git", "static-website"]

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


def _project(tmp_path: Path, name: str, snapshot_dir: Path, overlays_dir: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    (root / "repos").mkdir()
    (root / "repos" / "opam-repository").symlink_to(snapshot_dir)
    (root / "repos" / "opam-overlays").symlink_to(overlays_dir)
    return root


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.output


@pytest.mark.parametrize("name", UNIKERNELS)
def test_unikernel_locks_and_passes(
    tmp_path: Path, name: str, snapshot_dir: Path, overlays_dir: Path
) -> None:
    root = _project(tmp_path, name, snapshot_dir, overlays_dir)
    code, out = _run("lock", "--project", str(root))
    assert code == 0, out
    from opamlock.lockfile import load

    lock = load(root / "opamlock.lock")
    versions = {p.name: p.version for p in lock.packages}
    # Mirage-aware choices: the dune/cross-compilable overlay zarith, never the system gmp.
    if "zarith" in versions:
        assert "+dune" in versions["zarith"]
        assert "gmp" in versions
    code, out = _run("check", "--mirage", "--project", str(root), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] and not report["solved"] and report["findings"] == []
    assert "mirage-solo5" in report["linked"]
    assert not any(n.endswith(("-unix", "_unix")) for n in report["linked"])


@pytest.mark.parametrize("name", UNIKERNELS)
def test_adding_cohttp_lwt_unix_fails_with_the_chain(
    tmp_path: Path, name: str, snapshot_dir: Path, overlays_dir: Path
) -> None:
    root = _project(tmp_path, name, snapshot_dir, overlays_dir)
    opam = root / f"{name}.opam"
    opam.write_text(opam.read_text().replace("depends: [", 'depends: [\n  "cohttp-lwt-unix"'))
    code, out = _run("lock", "--project", str(root))
    assert code == 0, out
    code, out = _run("check", "--mirage", "--project", str(root))
    assert code == 1
    # The culprit and its chain from the project's root, with the portable sibling and the way out.
    assert f"chain: {name}.dev → cohttp-lwt-unix." in out
    assert "portable sibling: cohttp-mirage" in out
    assert '[mirage.allow]\n    "cohttp-lwt-unix" = "<why linking it is safe>"' in out
    code, out = _run("check", "--mirage", "--project", str(root), "--json")
    data = json.loads(out)
    culprits = {f["package"].split(".")[0]: f for f in data["findings"]}
    assert culprits["cohttp-lwt-unix"]["chain"][0] == f"{name}.dev"
    assert culprits["conduit-lwt-unix"]["chain"][-2].startswith("cohttp-lwt-unix.")


def test_check_without_a_lock_solves_for_the_target(
    tmp_path: Path, snapshot_dir: Path, overlays_dir: Path
) -> None:
    root = _project(tmp_path, "static-website", snapshot_dir, overlays_dir)
    code, out = _run("check", "--mirage", "--project", str(root), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["solved"] and data["ok"] and "tcpip" in data["linked"]
    assert not (root / "opamlock.lock").exists()  # check never writes a lock
