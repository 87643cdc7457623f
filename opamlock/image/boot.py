"""Boot a disk image in QEMU and watch its serial console, as a smoke test before uploading it.

There is no KVM here, so QEMU runs under TCG; a unikernel that prints and halts still boots in a
couple of seconds. The console is read as it streams so the test ends as soon as the expected line
appears, and a hard time limit ends it otherwise. The disk is opened with ``-snapshot``, so booting
never changes the image's bytes.
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from opamlock.errors import OpamlockError
from opamlock.image import _tools

_ANSI = re.compile(rb"\x1b(\[[0-9;?]*[A-Za-z]|c)")


class BootTestFailed(OpamlockError):
    """The expected line never appeared on the serial console."""

    def __init__(self, message: str, *, console: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.console = console

    def render(self) -> str:
        tail = "\n".join("  " + line for line in self.console.splitlines()[-20:])
        return f"{super().render()}\nserial console (last lines):\n{tail}"


@dataclass(frozen=True, kw_only=True, slots=True)
class BootResult:
    console: str
    """Everything the machine printed on its serial port, with terminal escapes removed."""
    matched: str
    """The console line that contained the expected text."""
    seconds: float


def qemu_argv(disk: Path) -> list[str]:
    """The QEMU command line: no display, serial on stdout, never reboot, 128 MiB, disk unchanged."""
    return [
        _tools.require("qemu-system-x86_64"),
        "-nographic", "-display", "none", "-serial", "stdio", "-monitor", "none",
        "-no-reboot", "-m", "128", "-snapshot",
        "-drive", f"file={disk},format=raw",
        # Lets the example kernel power the machine off at once; harmless for others.
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ]  # fmt: skip


def boot_test(disk: Path, *, expect: str, timeout: float = 60.0) -> BootResult:
    """Boot ``disk``; return when a console line contains ``expect``, or raise after ``timeout``."""
    argv = qemu_argv(disk)
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    buf = bytearray()
    matched: str | None = None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while matched is None:
            left = timeout - (time.monotonic() - start)
            if left <= 0:
                break
            if not sel.select(timeout=min(left, 0.5)):
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            matched = _find(_clean(bytes(buf)), expect)
        if matched is not None:
            _drain(proc, sel, buf, grace=1.0)
    finally:
        sel.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
    console = _clean(bytes(buf))
    elapsed = time.monotonic() - start
    if matched is None:
        why = "QEMU exited" if elapsed < timeout else f"no match within {timeout:g} s"
        raise BootTestFailed(
            f"boot test failed: {why}; expected a line containing {expect!r}", console=console
        )
    return BootResult(console=console, matched=matched, seconds=elapsed)


def _drain(
    proc: subprocess.Popen[bytes], sel: selectors.BaseSelector, buf: bytearray, *, grace: float
) -> None:
    """After a match, keep what the kernel prints next (it may be brief) until it stops or exits."""
    assert proc.stdout is not None
    end = time.monotonic() + grace
    while (left := end - time.monotonic()) > 0 and sel.select(timeout=left):
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            return
        buf += chunk


def _clean(raw: bytes) -> str:
    return _ANSI.sub(b"", raw).replace(b"\r", b"").decode("utf-8", errors="replace")


def _find(console: str, expect: str) -> str | None:
    # Only complete lines count, so a half-printed line cannot match a prefix by accident.
    for line in console.split("\n")[:-1]:
        if expect in line:
            return line
    return None
