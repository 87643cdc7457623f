"""`opamlock export --format opam-locked`: the opam file with exact depends for the locked closure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main
from opamlock.lockfile import load

pytest.importorskip("opamlock.opamfile._parser", reason="the opam file parser has not landed yet")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"
GOLDEN = FIXTURES / "golden" / "toy.opam.locked"


@pytest.fixture
def locked_toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPAMLOCK_CACHE", str(tmp_path / "cache"))
    shutil.copytree(FIXTURES / "toy-repo", tmp_path / "toy-repo")
    shutil.copytree(FIXTURES / "toy", tmp_path / "toy")
    r = CliRunner().invoke(main, ["lock", "--project", str(tmp_path / "toy")])
    assert r.exit_code == 0, r.output
    return tmp_path / "toy"


def _depends_of(path: Path) -> dict[str, str]:
    from opamlock.formula import VConstraint, atoms_of
    from opamlock.opamfile import parse
    from opamlock.package import Package
    from opamlock.version import OpamVersion

    tree = parse(path.read_text(), path.name)
    pkg = Package("toy", OpamVersion("dev"), tree)
    out = {}
    for a in atoms_of(pkg.depends_formula().resolve({"build": True, "post": True})):
        assert isinstance(a.vf, VConstraint) and a.vf.op == "="
        out[a.name] = str(a.vf.version)
    return out


def test_export_matches_golden_and_the_lock(locked_toy: Path) -> None:
    r = CliRunner().invoke(main, ["export", "--format", "opam-locked", "--project", str(locked_toy)])
    assert r.exit_code == 0, r.output
    out = locked_toy / "toy.opam.locked"
    text = out.read_text()
    if os.environ.get("OPAMLOCK_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    lock = load(locked_toy / "opamlock.lock")
    assert _depends_of(out) == lock.versions("linux-x86_64")  # the whole closure, exact versions
    # Everything but depends/depopts/conflicts is kept as written.
    original = (locked_toy / "toy.opam").read_text()
    assert text.startswith(original.split("depends:")[0])
    assert 'build: [\n  ["dune" "build" "-p" name "-j" jobs]\n]' in text
    assert 'conflicts: ["lwt"]' in text  # a depopt outside the closure may not sneak in
    again = CliRunner().invoke(main, ["export", "--project", str(locked_toy)])
    assert "unchanged toy.opam.locked" in again.output


def test_export_for_another_platform(locked_toy: Path) -> None:
    r = CliRunner().invoke(main, ["export", "--platform", "macos-arm64", "--project", str(locked_toy)])
    assert r.exit_code == 0, r.output
    deps = _depends_of(locked_toy / "toy.opam.locked")
    assert deps == load(locked_toy / "opamlock.lock").versions("macos-arm64")
    assert "portable" in deps and "unix-only" not in deps


def test_reference_parser_reads_the_export(locked_toy: Path, reference_parser: Path) -> None:
    CliRunner().invoke(main, ["export", "--project", str(locked_toy)])
    path = locked_toy / "toy.opam.locked"
    r = subprocess.run(
        [str(reference_parser)], input=str(path) + "\n", capture_output=True, text=True, check=True
    )
    (line,) = r.stdout.splitlines()
    doc = json.loads(line)
    assert doc["ok"], doc
    depends = next(it["v"] for it in doc["items"] if it.get("var") == "depends")
    names = set()
    for atom in depends["list"]:
        names.add(atom["opt"]["str"])
    assert names == set(load(locked_toy / "opamlock.lock").versions("linux-x86_64"))


@pytest.mark.slow
@pytest.mark.oracle
def test_opam_install_locked_accepts_the_export(
    tmp_path: Path, snapshot_tar: Path, opam_env: dict[str, str]
) -> None:
    """opam 2.1 itself: `opam install . --locked --dry-run` installs exactly the locked closure."""
    project = tmp_path / "a" / "b" / "demo"
    project.mkdir(parents=True)
    (project / "demo.opam").write_text(
        'opam-version: "2.0"\nsynopsis: "Demo"\nmaintainer: "opamlock"\n'
        'depends: [\n  "ocaml" {>= "4.14"}\n  "dune" {>= "3.0"}\n  "uri"\n  "fmt"\n]\n'
        'build: [["dune" "build" "-p" name]]\n'
    )
    (project / "opamlock.toml").write_text(
        f'[[repository]]\nname = "opam-repository"\npath = "{os.path.relpath(snapshot_tar, project)}"\n'
    )
    for cmd in (["lock"], ["export"]):
        r = CliRunner().invoke(main, [*cmd, "--project", str(project)])
        assert r.exit_code == 0, r.output
    r2 = subprocess.run(
        ["opam", "install", ".", "--locked", "--dry-run", "--show-actions"],
        cwd=project,
        env=opam_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r2.returncode == 0, r2.stdout + r2.stderr
    installs = {}
    for line in r2.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "install":
            installs[parts[2]] = parts[3]
    installs.pop("demo")
    assert installs == load(project / "opamlock.lock").versions()
