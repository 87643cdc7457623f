"""``opamlock image``'s timestamp: the flag, then $SOURCE_DATE_EPOCH, then the project's lock, then 0.

The disk tools are replaced by a recorder here (tests/test_image.py runs the real ones): what is
tested is which epoch the command hands them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import opamlock.cli.image as image_cli
from opamlock.cli import main
from tests.test_lockfile import make_lock

LOCK_EPOCH = 1787409630


@pytest.fixture
def epochs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []

    def fake_disk(kernel: Path, disk: Path, *, boot_args: tuple[str, ...], source_date_epoch: int) -> Path:
        seen.append(source_date_epoch)
        disk.write_bytes(b"disk")
        return disk

    monkeypatch.setattr(image_cli, "make_disk", fake_disk)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return seen


@pytest.fixture
def project(tmp_path: Path) -> Path:
    from dataclasses import replace

    from opamlock.lockfile import dumps

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "opamlock.lock").write_text(dumps(replace(make_lock(()), source_date_epoch=LOCK_EPOCH)))
    (proj / "kernel.bin").write_bytes(b"\x02\xb0\xad\x1b")
    return proj


def image(*args: str, env: dict[str, str] | None = None) -> str:
    r = CliRunner().invoke(main, ["image", "--gce", "--format", "raw", *args], env=env)
    assert r.exit_code == 0, r.output
    return r.output


def test_the_lock_gives_the_default_epoch(project: Path, epochs: list[int]) -> None:
    out = image("-C", str(project), str(project / "kernel.bin"))
    assert epochs == [LOCK_EPOCH] and f"source-date-epoch {LOCK_EPOCH} (" in out


def test_the_lock_of_the_current_directory_counts(project: Path, epochs: list[int],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    image("kernel.bin")
    assert epochs == [LOCK_EPOCH]


def test_the_flag_and_the_environment_win_over_the_lock(project: Path, epochs: list[int]) -> None:
    kernel = str(project / "kernel.bin")
    image("-C", str(project), "--source-date-epoch", "42", kernel)
    image("-C", str(project), kernel, env={"SOURCE_DATE_EPOCH": "43"})
    image("-C", str(project), "--source-date-epoch", "44", kernel, env={"SOURCE_DATE_EPOCH": "43"})
    assert epochs == [42, 43, 44]


def test_no_lock_means_zero(tmp_path: Path, epochs: list[int]) -> None:
    (tmp_path / "kernel.bin").write_bytes(b"k")
    image("-C", str(tmp_path), str(tmp_path / "kernel.bin"))
    assert epochs == [0]


def test_an_unreadable_lock_is_an_error_not_a_silent_zero(project: Path, epochs: list[int]) -> None:
    (project / "opamlock.lock").write_text("lock-version = 'what'\n")
    r = CliRunner().invoke(main, ["image", "--gce", "-C", str(project), str(project / "kernel.bin")])
    assert r.exit_code == 1 and "lock-version" in r.output and epochs == []
