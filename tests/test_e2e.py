"""End to end on the example: lock -> fetch over local HTTP -> offline sandboxed build -> image -> boot.

Every step goes through the real command line. ``test_lock_command_matches_hand_lock`` also
checks that ``opamlock lock`` locks exactly the packages of the example's hand-written lock.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from opamlock import lockfile
from opamlock.cli import main
from opamlock.fetch import Store, fetch, plan_from_lock
from opamlock.image import boot_test
from tests.buildkit import load_example, need_build_tools

IMAGE_TOOLS = {
    "sfdisk": "fdisk",
    "mkdosfs": "dosfstools",
    "syslinux": "syslinux",
    "mcopy": "mtools",
    "qemu-system-x86_64": "qemu-system-x86",
}


def need_image_tools() -> None:
    for tool, pkg in IMAGE_TOOLS.items():
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            pytest.skip(f"{tool} is not installed (apt-get install {pkg})")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        type(self).requests.append(self.path)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    """The example materialised with its tarballs served from 127.0.0.1."""
    archives = tmp_path / "example" / "archives"
    archives.mkdir(parents=True)
    handler = type("Handler", (_Quiet,), {"requests": []})
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(archives))
    )
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        ex = load_example().materialise(tmp_path / "example", f"http://127.0.0.1:{srv.server_address[1]}/")
        yield ex, handler.requests
    finally:
        srv.shutdown()
        srv.server_close()


def run_lock(project: Path) -> Path:
    """``opamlock lock`` in ``project``, through the real command line."""
    with contextlib.chdir(project):
        res = CliRunner().invoke(main, ["lock"])
    assert res.exit_code == 0, f"opamlock lock failed on the example: {res.output}"
    return project / lockfile.LOCK_FILENAME


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow
def test_lock_fetch_build_image_boot_twice(tmp_path: Path, served: tuple[Any, list[str]]) -> None:
    need_build_tools()
    need_image_tools()
    ex, requests = served
    lock_path = run_lock(ex.project)
    lock = lockfile.load(lock_path)
    assert {p.name for p in lock.packages} == {"hello-kernel", "hello-support"}

    # Fetch over HTTP into a fresh store; a second, offline fetch finds everything present.
    store = Store(tmp_path / "store")
    runner = CliRunner()
    fetch_args = ["fetch", "-C", str(ex.project), "--store", str(store.root)]
    res = runner.invoke(main, fetch_args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert sorted(requests) == ["/hello-kernel-1.0.0.tar.gz", "/hello-support-1.0.0.tar.gz"]
    assert runner.invoke(main, [*fetch_args, "--offline"]).exit_code == 0
    assert len(fetch(plan_from_lock(lock), store, offline=True).present) == 2

    images = []
    for run in ("one", "two"):
        build_dir = tmp_path / f"build-{run}"
        res = runner.invoke(
            main,
            ["build", "-C", str(ex.project), "--store", str(store.root), "--build-dir", str(build_dir)],
            catch_exceptions=False,
        )
        assert res.exit_code == 0, res.output
        assert "opam-install" in res.output and "hello-kernel.1.0.0" in res.output
        kernel = build_dir / "out" / "unikernel.bin"
        out = tmp_path / f"image-{run}" / "disk.tar.gz"
        out.parent.mkdir()
        res = runner.invoke(
            main,
            [
                "image",
                "--gce",
                "--source-date-epoch",
                str(lock.source_date_epoch),
                "-o",
                str(out),
                str(kernel),
            ],
            catch_exceptions=False,
        )
        assert res.exit_code == 0, res.output
        images.append(out)
    assert len(requests) == 2  # the builds never went back to the server

    # Same image twice, byte for byte.
    assert sha256(images[0]) == sha256(images[1])

    # The raw disk boots in QEMU and prints the known line on the serial console.
    raw = tmp_path / "boot" / "disk.raw"
    res = runner.invoke(
        main,
        ["image", "--gce", "--format", "raw", "--source-date-epoch", str(lock.source_date_epoch),
         "-o", str(raw), str(tmp_path / "build-one" / "out" / "unikernel.bin"), "hello=e2e"],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = boot_test(raw, expect=load_example().HELLO_LINE, timeout=120)
    assert "cmdline: unikernel.bin hello=e2e" in result.console


def test_lock_command_matches_hand_lock(served: tuple[Any, list[str]]) -> None:
    ex, _ = served
    made = run_lock(ex.project)
    got = lockfile.load(made)
    want = lockfile.loads(load_example().hand_lock_text(ex))
    assert [(p.name, p.version, p.opam_hash, p.source) for p in got.packages] == [
        (p.name, p.version, p.opam_hash, p.source) for p in want.packages
    ]


def test_boot_line_constant_matches_kernel_source() -> None:
    src = (
        Path(__file__).resolve().parents[1] / "fixtures/example-kernel/src/hello-kernel/kernel.c"
    ).read_text()
    assert f'#define HELLO_LINE "{load_example().HELLO_LINE}"' in src
