"""``opamlock list`` and ``opamlock show`` on fixture repositories, and ``list`` against opam itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPAMLOCK_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # no opamlock.toml here or above

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, list(args))

    return invoke


def test_list_names_and_versions(run) -> None:  # type: ignore[no-untyped-def]
    r = run("list", "--repo", str(FIXTURES / "base"))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == ["Baz", "baa", "bar", "foo", "ocaml"]
    r = run("list", "--all-versions", "--repo", str(FIXTURES / "base"))
    assert r.stdout.splitlines() == ["Baz.0.1", "baa.1", "bar.0.9", "bar.1.0+a", "foo.1.0", "foo.2.0",
                                     "ocaml.4.14.2", "ocaml.5.2.0"]
    assert "bar.1.0+a0 compares equal to bar.1.0+a" in r.stderr


def test_list_layers_repositories_in_order(run) -> None:  # type: ignore[no-untyped-def]
    r = run("list", "-a", "--repo", str(FIXTURES / "overlay"), "--repo", str(FIXTURES / "base"))
    assert r.exit_code == 0, r.stderr
    assert [x for x in r.stdout.splitlines() if x.startswith(("foo", "extra"))] == [
        "extra.0.1", "foo.1.0", "foo.2.0", "foo.2.0+dune"]


def test_list_reports_unloadable_files_on_stderr(run) -> None:  # type: ignore[no-untyped-def]
    r = run("list", "-a", "--repo", str(FIXTURES / "broken"))
    assert r.exit_code == 0
    assert r.stdout == "ok.1\n"
    assert "could not be loaded" in r.stderr and "bad.1/opam:" in r.stderr


def test_list_without_repository_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run("list")
    assert r.exit_code == 2
    assert "--repo" in r.stderr and "Traceback" not in r.stderr
    r = run("list", "--repo", "/nonexistent/repo")
    assert r.exit_code == 1 and "not found" in r.stderr


def test_show_text_and_json(run) -> None:  # type: ignore[no-untyped-def]
    r = run("show", "foo.1.0", "--repo", str(FIXTURES / "base"))
    assert r.exit_code == 0, r.stderr
    assert "repository  base" in r.stdout
    assert 'synopsis: "Foo, first release"' in r.stdout
    assert 'depends: ["ocaml" {>= "4.14"} "dune" {>= "3.0" & build}]' in r.stdout
    assert "file        fix.patch sha256=" in r.stdout
    assert 'url {\n  src: "https://example.com/foo-1.0.tar.gz"' in r.stdout
    r = run("show", "foo", "--json", "--repo", str(FIXTURES / "overlay"), "--repo", str(FIXTURES / "base"))
    doc = json.loads(r.stdout)
    assert doc["name"] == "foo" and doc["version"] == "2.0+dune" and doc["repository"] == "overlay"
    r = run("show", "foo.1.0", "--json", "--repo", str(FIXTURES / "base"))
    doc = json.loads(r.stdout)
    assert doc["opam-hash"].startswith("sha256:")
    assert doc["depends"] == '["ocaml" {>= "4.14"} "dune" {>= "3.0" & build}]'
    assert doc["url"]["src"] == "https://example.com/foo-1.0.tar.gz"
    assert doc["url"]["checksum"] == ["sha256=" + "0" * 63 + "1"]
    assert doc["fields"]["patches"] == ["fix.patch"]
    assert doc["fields"]["build"] == [["dune", "build", "-p", {"ident": "name"}, "-j", {"ident": "jobs"}]]
    assert [f["path"] for f in doc["files"]] == ["fix.patch"]
    assert run("show", "foo.2.0", "--json", "--repo", str(FIXTURES / "base")).exit_code == 0
    assert json.loads(run("show", "foo.2.0", "--json", "--repo", str(FIXTURES / "base")).stdout)["flags"] == [
        "avoid-version"]


def test_show_unknown_package_or_version(run) -> None:  # type: ignore[no-untyped-def]
    r = run("show", "fooo", "--repo", str(FIXTURES / "base"))
    assert r.exit_code == 1 and "did you mean foo" in r.stderr
    r = run("show", "foo.7", "--repo", str(FIXTURES / "base"))
    assert r.exit_code == 1 and "known versions: 1.0 2.0" in r.stderr
    r = run("show", "bar.1.0+a0", "--repo", str(FIXTURES / "base"))
    assert r.exit_code == 0 and "version     1.0+a\n" in r.stdout  # equal versions are one version


@pytest.mark.slow
def test_list_all_versions_matches_opam(snapshot_dir: Path, opam_env: dict[str, str], tmp_path: Path) -> None:
    ref = subprocess.run(["opam", "list", "-A", "--all-versions", "--short"], env=opam_env,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    cmd = [sys.executable, "-m", "opamlock", "list", "--all-versions", "--repo", str(snapshot_dir)]
    ours = subprocess.run(cmd,
                          env={**opam_env, "OPAMLOCK_CACHE": str(tmp_path / "cache")},
                          capture_output=True, text=True, check=True)
    assert len(ref) == 18792
    assert ours.stdout.splitlines() == ref
    assert "ocaml-variants.5.5.0+introcaml0 compares equal" in ours.stderr
    names = subprocess.run(["opam", "list", "-A", "--short"], env=opam_env, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    ours_names = subprocess.run([sys.executable, "-m", "opamlock", "list", "--repo", str(snapshot_dir)],
                                env={**opam_env, "OPAMLOCK_CACHE": str(tmp_path / "cache")},
                                capture_output=True, text=True, check=True).stdout.splitlines()
    assert ours_names == names


def test_list_defaults_to_the_project_repositories(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    project = tmp_path / "proj"
    shutil.copytree(FIXTURES / "overlay", project / "repos" / "overlay")
    shutil.copytree(FIXTURES / "base", project / "repos" / "base")
    (project / "opamlock.toml").write_text(
        '[[repository]]\nname = "mirage-overlay"\npath = "repos/overlay"\n\n'
        '[[repository]]\nname = "main"\npath = "repos/base"\n'
    )
    (project / "src").mkdir()
    monkeypatch.chdir(project / "src")
    r = run("list", "-a")
    assert r.exit_code == 0, r.stderr
    assert "foo.2.0+dune" in r.stdout.splitlines() and "ocaml.5.2.0" in r.stdout.splitlines()
    r = run("show", "foo.2.0", "--json")
    assert json.loads(r.stdout)["repository"] == "mirage-overlay"
