"""Helpers for the tests that build: the example project, the tools a build needs, a TCP witness.

Shared by test_build, test_build_monorepo, test_e2e and test_sandbox, which used to import them
from one another or keep copies.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from opamlock.sandbox import SandboxUnavailable, check_available

ROOT = Path(__file__).resolve().parents[1]


def load_example() -> ModuleType:
    """``fixtures/example-kernel/example.py``, the example unikernel project and its sources."""
    name = "opamlock_example_fixture"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "fixtures" / "example-kernel" / "example.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def need_sandbox() -> None:
    """Skip, with the reason, where bubblewrap cannot make a sandbox."""
    try:
        check_available()
    except SandboxUnavailable as e:
        pytest.skip(f"bubblewrap unusable here: {e.render()}")


def need_build_tools() -> None:
    """Skip unless opam, a working bubblewrap and a C toolchain are here."""
    for tool, pkg in (("opam", "opam"), ("bwrap", "bubblewrap"), ("gcc", "gcc"), ("make", "make")):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install {pkg})")
    need_sandbox()


@contextmanager
def recording_server() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that records the first bytes of every connection reaching it.

    Yields ``(port, received)``. A connection that sends nothing is recorded as ``b""``, so a
    test asserting ``received == []`` also catches a connection that got through silently.
    """
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    got: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:  # including the accept timeout that lets the loop see `stop`
                continue
            with conn:
                conn.settimeout(2)
                try:
                    got.append(conn.recv(100))
                except OSError:
                    got.append(b"")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1], got
    finally:
        stop.set()
        t.join()
        srv.close()
