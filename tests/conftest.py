"""Shared fixtures: the real corpus in ../shared, and opam's reference tools beside us.

Tests that need the corpus or a reference tool skip with a reason when it is absent. CI installs
every tool, so nothing skips there. Expensive set-ups (unpacked snapshots, the reference parser
binary, an initialised opam root) are cached under ``$OPAMLOCK_TEST_CACHE`` (default
``~/.cache/opamlock-tests``), each made in a temporary directory and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
ORACLES = SHARED / "oracles"
FIXTURES = ROOT / "fixtures"

SNAPSHOT_NEW = "opam-repository-2026-08-22-97014be6.tar.gz"
SNAPSHOT_OLD = "opam-repository-2026-05-01-76bd899e.tar.gz"
OVERLAYS = "opam-overlays-2026-07-15-d3371ade.tar.gz"

CACHE = Path(os.environ.get("OPAMLOCK_TEST_CACHE", Path.home() / ".cache" / "opamlock-tests"))


def corpus_file(name: str) -> Path:
    """Path of a corpus archive, or skip the test with the reason."""
    p = CORPUS / name
    if not p.exists():
        pytest.skip(f"corpus archive {p} is absent (the shared corpus is not beside the project)")
    return p


def _atomic_dir(dest: Path, make: object) -> Path:
    """Create ``dest`` by calling ``make(tmpdir)`` then renaming; concurrent workers race safely."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        make(tmp)  # type: ignore[operator]
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def unpacked(name: str) -> Path:
    """The unpacked repository folder of a corpus archive (``…/opam-repository``)."""
    archive = corpus_file(name)

    def make(tmp: Path) -> None:
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")

    base = _atomic_dir(CACHE / "unpacked" / name.removesuffix(".tar.gz"), make)
    (sub,) = [p for p in base.iterdir() if p.is_dir()]
    return sub


@pytest.fixture(scope="session")
def snapshot_tar() -> Path:
    return corpus_file(SNAPSHOT_NEW)


@pytest.fixture(scope="session")
def snapshot_dir() -> Path:
    return unpacked(SNAPSHOT_NEW)


@pytest.fixture(scope="session")
def old_snapshot_dir() -> Path:
    return unpacked(SNAPSHOT_OLD)


@pytest.fixture(scope="session")
def overlays_dir() -> Path:
    return unpacked(OVERLAYS)


@pytest.fixture(scope="session")
def reference_parser() -> Path:
    """opam-file-format's own parser, built from ../shared/oracles/opam_parse_json.ml."""
    src = ORACLES / "opam_parse_json.ml"
    if not src.exists():
        pytest.skip(f"{src} is absent")
    if shutil.which("ocamlfind") is None:
        pytest.skip(
            "ocamlfind is not installed (apt-get install ocaml-findlib libopam-file-format-ocaml-dev)"
        )
    probe = subprocess.run(["ocamlfind", "query", "opam-file-format"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("opam-file-format is not installed (apt-get install libopam-file-format-ocaml-dev)")

    def make(tmp: Path) -> None:
        shutil.copy(src, tmp / "opam_parse_json.ml")
        subprocess.run(
            ["ocamlfind", "ocamlopt", "-package", "opam-file-format", "-linkpkg",
             "opam_parse_json.ml", "-o", "opam_parse_json"],
            cwd=tmp, check=True, capture_output=True,
        )

    digest = str(src.stat().st_mtime_ns)
    return _atomic_dir(CACHE / f"refparser-{digest}", make) / "opam_parse_json"


def _opam_root_for(repo_dir: Path, key: str) -> Path:
    if shutil.which("opam") is None:
        pytest.skip("opam is not installed (apt-get install opam)")

    def make(tmp: Path) -> None:
        env = {**os.environ, "OPAMROOT": str(tmp / "root"), "OPAMYES": "1", "OPAMCOLOR": "never"}
        subprocess.run(
            ["opam", "init", "--bare", "-n", "--disable-sandboxing", "local", str(repo_dir)],
            env=env, check=True, capture_output=True,
        )
        subprocess.run(
            ["opam", "switch", "create", "empty", "--empty"], env=env, check=True, capture_output=True
        )

    return _atomic_dir(CACHE / f"opamroot-{key}", make) / "root"


@pytest.fixture(scope="session")
def opam_root(snapshot_dir: Path) -> Path:
    """An opam root whose only repository is the 2026-08-22 snapshot, with an empty switch ``empty``."""
    return _opam_root_for(snapshot_dir, SNAPSHOT_NEW.removesuffix(".tar.gz"))


@pytest.fixture(scope="session")
def opam_env(opam_root: Path) -> Iterator[dict[str, str]]:
    yield {**os.environ, "OPAMROOT": str(opam_root), "OPAMYES": "1", "OPAMSWITCH": "empty",
           "OPAMCOLOR": "never", "OPAMNODEPEXTS": "1"}
