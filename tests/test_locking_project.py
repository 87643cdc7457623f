"""`opamlock lock` end to end on the toy fixture project: files on disk, the CLI, determinism."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main
from opamlock.lockfile import load

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"

pytest.importorskip("opamlock.opamfile._parser", reason="the opam file parser has not landed yet")


def copy_toy(tmp: Path) -> Path:
    shutil.copytree(FIXTURES / "toy-repo", tmp / "toy-repo")
    shutil.copytree(FIXTURES / "toy", tmp / "toy")
    return tmp / "toy"


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPAMLOCK_CACHE", str(tmp_path / "cache"))
    return copy_toy(tmp_path)


def run(args: list[str], project: Path) -> tuple[int, str]:
    r = CliRunner().invoke(main, [*args, "--project", str(project)])
    return r.exit_code, r.output


def test_lock_writes_a_valid_lock_then_is_unchanged(toy: Path) -> None:
    code, out = run(["lock"], toy)
    assert code == 0, out
    assert "wrote opamlock.lock" in out
    lock = load(toy / "opamlock.lock")
    linux, mac = lock.versions("linux-x86_64"), lock.versions("macos-arm64")
    assert linux["lib-b"] == "1.0.0" and linux["unix-only"] == "1.0" and "portable" not in linux
    assert mac["portable"] == "1.0" and "unix-only" not in mac  # the `|` branch filtered on macOS
    assert "lwt" not in linux  # depopts are not solved for
    lib_a = [p for p in lock.packages if p.name == "lib-a"]
    assert {p.platforms: p.depexts for p in lib_a} == {
        ("linux-x86_64",): ("libfoo-dev",),
        ("macos-arm64",): ("foo",),
    }
    assert lib_a[0].extra_sources[0].name == "fix-build.patch"
    assert lib_a[0].build == (("dune", "build", "-p", "%{name}%", "-j", "%{jobs}%", "@install"),)
    code, out = run(["lock"], toy)
    assert code == 0 and "unchanged" in out
    code, out = run(["lock", "--check"], toy)
    assert code == 0 and "up to date" in out


def test_check_fails_after_a_project_opam_file_changes_and_names_it(toy: Path) -> None:
    code, out = run(["lock", "--check"], toy)
    assert code == 1 and "opamlock.lock is missing" in out
    assert run(["lock"], toy)[0] == 0
    assert run(["lock", "--check"], toy)[0] == 0
    before = (toy / "opamlock.lock").read_bytes()
    opam = toy / "toy.opam"
    opam.write_text(opam.read_text().replace('"lib-b"', '"lib-b"\n  "lwt"'))
    code, out = run(["lock", "--check"], toy)
    assert code == 1
    assert "project opam file toy.opam changed" in out
    assert (toy / "opamlock.lock").read_bytes() == before  # --check never writes
    assert run(["lock"], toy)[0] == 0
    assert load(toy / "opamlock.lock").versions()["lwt"] == "5.9.0"
    assert run(["lock", "--check"], toy)[0] == 0


def test_check_names_config_and_repository_changes(toy: Path) -> None:
    assert run(["lock"], toy)[0] == 0
    cfg = toy / "opamlock.toml"
    cfg.write_text(cfg.read_text() + '\n[pins]\nocaml = "4.14.2"\n')
    code, out = run(["lock", "--check"], toy)
    assert code == 1 and "opamlock.toml changed" in out
    assert run(["lock"], toy)[0] == 0
    new = toy.parent / "toy-repo" / "packages" / "lib-b" / "lib-b.1.1.0"
    new.mkdir()
    (new / "opam").write_text('opam-version: "2.0"\ndepends: ["ocaml" "lib-a"]\n')
    code, out = run(["lock", "--check"], toy)
    assert code == 1 and "repository toy changed identity" in out


def test_minimal_update_on_disk_and_upgrade(toy: Path) -> None:
    assert run(["lock"], toy)[0] == 0
    for name, version in (("lib-b", "1.1.0"), ("ocaml", "5.3.0")):
        d = toy.parent / "toy-repo" / "packages" / name / f"{name}.{version}"
        d.mkdir()
        src = toy.parent / "toy-repo" / "packages" / name
        first = sorted(p for p in src.iterdir() if p.name != d.name)[-1]
        (d / "opam").write_text((first / "opam").read_text())
    code, out = run(["lock"], toy)
    assert code == 0, out
    v = load(toy / "opamlock.lock").versions()
    assert (v["lib-b"], v["ocaml"]) == ("1.0.0", "5.2.0")
    code, out = run(["lock", "--upgrade-package", "lib-b"], toy)
    assert code == 0, out
    v = load(toy / "opamlock.lock").versions()
    assert v["lib-b"] == "1.1.0" and v["ocaml"] == "5.3.0"  # lib-b needs ocaml: both freed
    assert "↑ lib-b 1.0.0 -> 1.1.0" in out


def test_init_in_a_fresh_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPAMLOCK_CACHE", str(tmp_path / "cache"))
    toy = copy_toy(tmp_path)
    (toy / "opamlock.toml").unlink()
    code, out = run(["init", "--repo", "toy=../toy-repo", "--platform", "linux-x86_64"], toy)
    assert code == 0, out
    text = (toy / "opamlock.toml").read_text()
    assert 'path = "../toy-repo"' in text and 'hash = "sha256:' in text
    code, out = run(["init", "--repo", "../toy-repo"], toy)
    assert code == 1 and "already exists" in out
    assert run(["lock"], toy)[0] == 0


def test_invalid_config_is_exit_1_with_place(toy: Path) -> None:
    cfg = toy / "opamlock.toml"
    cfg.write_text(cfg.read_text().replace('{ os = "macos", arch = "arm64" }', '{ os = 1, arch = "arm64" }'))
    code, out = run(["lock"], toy)
    assert code == 1
    assert "solve.platforms[1].os: expected a string, found an integer" in out and "hint:" in out
    cfg.write_text("[[repository]\n")
    code, out = run(["lock"], toy)
    assert code == 1 and "opamlock.toml:1:" in out


# -- determinism ------------------------------------------------------------------------------

_SHUFFLING_RUNNER = textwrap.dedent(
    """
    import os, random, sys
    rnd = random.Random(int(os.environ["SHUFFLE_SEED"]))
    real_scandir, real_listdir = os.scandir, os.listdir

    class Shuffled:
        def __init__(self, it):
            self.entries = list(it)
            it.close()
            rnd.shuffle(self.entries)
        def __iter__(self):
            return iter(self.entries)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return False
        def close(self):
            pass

    def scandir(path="."):
        return Shuffled(real_scandir(path))

    def listdir(path="."):
        out = real_listdir(path)
        rnd.shuffle(out)
        return out

    os.scandir, os.listdir = scandir, listdir
    from opamlock.cli import main
    sys.argv = ["opamlock", *sys.argv[1:]]
    main()
    """
)


def _fresh_copy(base: Path, i: int) -> Path:
    """A new copy whose directories are created in a different order each time."""
    dest = base / f"run{i}"
    repo_src = FIXTURES / "toy-repo" / "packages"
    names = sorted(os.listdir(repo_src))
    names = names[i % len(names) :] + names[: i % len(names)]
    if i % 2:
        names.reverse()
    (dest / "toy-repo" / "packages").mkdir(parents=True)
    shutil.copy(FIXTURES / "toy-repo" / "repo", dest / "toy-repo" / "repo")
    for n in names:
        shutil.copytree(repo_src / n, dest / "toy-repo" / "packages" / n)
    shutil.copytree(FIXTURES / "toy", dest / "toy")
    return dest / "toy"


@pytest.mark.slow
def test_lock_bytes_are_identical_across_hash_seeds_and_directory_orders(tmp_path: Path) -> None:
    outputs = []
    for i in range(10):
        project = _fresh_copy(tmp_path, i)
        env = {
            **os.environ,
            "PYTHONHASHSEED": str(1000 + 7919 * i),
            "SHUFFLE_SEED": str(i),
            "OPAMLOCK_CACHE": str(tmp_path / f"cache{i}"),
        }  # a cold cache each time: the load is real
        r = subprocess.run(
            [sys.executable, "-c", _SHUFFLING_RUNNER, "lock", "--project", str(project)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        outputs.append((project / "opamlock.lock").read_bytes())
    assert len(set(outputs)) == 1
    assert b"run0" not in outputs[0] and str(tmp_path).encode() not in outputs[0]


def test_two_concurrent_lock_runs_leave_a_valid_lock(toy: Path) -> None:
    env = {**os.environ}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "opamlock", "lock", "--project", str(toy)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    lock = load(toy / "opamlock.lock")
    assert lock.versions("linux-x86_64")["lib-b"] == "1.0.0"
    assert sorted(x.name for x in toy.iterdir()) == ["opamlock.lock", "opamlock.toml", "toy.opam"]


def test_tree_why_and_diff_commands(toy: Path) -> None:
    assert run(["lock"], toy)[0] == 0
    code, out = run(["tree"], toy)
    assert code == 0
    assert out.splitlines() == [
        "toy dev",
        "├── dune 3.16.0",
        "│   ├── base-unix base",
        "│   └── ocaml 5.2.0",
        "├── lib-b 1.0.0",
        "│   ├── lib-a 1.0.0",
        "│   │   ├── dune 3.16.0 (*)",
        "│   │   └── ocaml 5.2.0",
        "│   ├── ocaml 5.2.0",
        "│   └── unix-only 1.0",
        "│       ├── base-unix base",
        "│       └── ocaml 5.2.0",
        "└── ocaml 5.2.0",
    ]
    code, out = run(["tree", "--all-kinds", "--platform", "macos-arm64"], toy)
    assert code == 0 and "├── dune 3.16.0 (build)" in out and "portable 1.0" in out
    code, out = run(["why", "base-unix"], toy)
    assert code == 0
    assert out.splitlines() == ["toy.dev -> dune.3.16.0 -> base-unix.base"]
    code, out = run(["why", "nosuch"], toy)
    assert code == 1 and "nosuch is not in the lock" in out
    old = toy / "old.lock"
    shutil.copy(toy / "opamlock.lock", old)
    cfg = toy / "opamlock.toml"
    cfg.write_text(cfg.read_text() + '\n[pins]\nocaml = "4.14.2"\n')
    assert run(["lock"], toy)[0] == 0
    r = CliRunner().invoke(main, ["diff", "--plain", str(old), str(toy / "opamlock.lock")])
    assert r.exit_code == 0
    assert "  ↓ ocaml 5.2.0 -> 4.14.2" in r.output.splitlines()


def test_project_packages_are_dev_packages(toy: Path) -> None:
    """opam pins a project from source, so its `{dev}` dependencies count, unlike a repository's."""
    opam = toy / "toy.opam"
    opam.write_text(opam.read_text().replace('"lib-b"', '"lib-b"\n  "lwt" {dev}'))
    assert run(["lock"], toy)[0] == 0
    lock = load(toy / "opamlock.lock")
    assert lock.versions()["lwt"] == "5.9.0"
    (root,) = lock.roots_for()
    assert {d.name: d.kind for d in root.depends}["lwt"] == "dev"
