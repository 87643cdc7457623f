"""The bundled example and the real snapshots: determinism, --check, minimal update across snapshots."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main
from opamlock.lockdiff import diff_locks
from opamlock.lockfile import load
from tests.conftest import CORPUS, OVERLAYS, SNAPSHOT_NEW, SNAPSHOT_OLD, corpus_file
from tests.test_locking_project import _SHUFFLING_RUNNER

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "static-website"

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


def example_copy(dest: Path, repos: list[Path]) -> Path:
    """The example project at ``dest``, its repositories given by (relative) paths to ``repos``."""
    dest.mkdir(parents=True)
    shutil.copy(EXAMPLE / "static-website.opam", dest)
    text = (EXAMPLE / "opamlock.toml").read_text()
    text = re.sub(r'hash = "[^"]*"\n', "", text)  # the copies may be folders: same content, other path
    paths = iter(os.path.relpath(r, dest) for r in repos)
    text = re.sub(r'path = "[^"]*"', lambda m: f'path = "{next(paths)}"', text)
    (dest / "opamlock.toml").write_text(text)
    return dest


def test_the_committed_example_lock_is_fresh() -> None:
    corpus_file(SNAPSHOT_NEW)
    r = CliRunner().invoke(main, ["lock", "--check", "--project", str(EXAMPLE)])
    assert r.exit_code == 0, r.output


def test_example_lock_is_byte_identical_across_hash_seeds_and_directory_orders(
    tmp_path: Path, snapshot_dir: Path, overlays_dir: Path
) -> None:
    tars = [corpus_file(OVERLAYS), corpus_file(SNAPSHOT_NEW)]
    outputs: dict[str, set[bytes]] = {"tar": set(), "dir": set()}
    for i in range(10):
        kind = "dir" if i == 0 else "tar"
        project = example_copy(
            tmp_path / f"run{i}" / "a" / "b", [overlays_dir, snapshot_dir] if kind == "dir" else tars
        )
        env = {**os.environ, "PYTHONHASHSEED": str(17 + 7919 * i), "SHUFFLE_SEED": str(i)}
        if kind == "dir":  # a cold index: the folders are really walked, in a shuffled order
            env["OPAMLOCK_CACHE"] = str(tmp_path / f"cache{i}")
        r = subprocess.run(
            [sys.executable, "-c", _SHUFFLING_RUNNER, "lock", "--project", str(project)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        data = (project / "opamlock.lock").read_bytes()
        assert str(tmp_path).encode() not in data
        outputs[kind].add(data)
    assert len(outputs["tar"]) == 1 and len(outputs["dir"]) == 1  # 9 runs, and 1 over folders
    # Folder and archive of the same content have the same identity: only the paths differ.
    tar_lock, dir_lock = load_text(outputs["tar"].pop()), load_text(outputs["dir"].pop())
    assert tar_lock.packages == dir_lock.packages and tar_lock.inputs_hash != dir_lock.inputs_hash
    assert [r.identity for r in tar_lock.repositories] == [r.identity for r in dir_lock.repositories]


def load_text(data: bytes):  # type: ignore[no-untyped-def]
    from opamlock.lockfile import loads

    return loads(data.decode())


def test_minimal_update_across_real_snapshots(tmp_path: Path) -> None:
    corpus_file(SNAPSHOT_NEW)
    old_tar, overlays = corpus_file(SNAPSHOT_OLD), corpus_file(OVERLAYS)
    project = example_copy(tmp_path / "p" / "q" / "r", [overlays, old_tar])

    def lock(*args: str) -> None:
        r = CliRunner().invoke(main, ["lock", *args, "--project", str(project)])
        assert r.exit_code == 0, r.output

    lock()
    old = load(project / "opamlock.lock")
    cfg = project / "opamlock.toml"
    cfg.write_text(cfg.read_text().replace(SNAPSHOT_OLD, SNAPSHOT_NEW))
    r = CliRunner().invoke(main, ["lock", "--check", "--project", str(project)])
    assert r.exit_code == 1 and "opamlock.toml changed" in r.output
    lock()
    kept = load(project / "opamlock.lock")
    (d,) = diff_locks(old, kept)
    assert not d.upgraded and not d.downgraded and not d.added and not d.removed, d
    lock("--upgrade")
    upgraded = load(project / "opamlock.lock")
    (d,) = diff_locks(kept, upgraded)
    assert d.upgraded, "the newer snapshot has newer versions of something in the example"
    assert CORPUS.exists()
