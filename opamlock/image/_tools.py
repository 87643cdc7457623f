"""Finding the host tools an image needs, and naming the Debian package when one is missing.

Image creation shells out to the same tools as Solo5's ``solo5-virtio-mkimage``; a missing one
must say which package to install rather than fail with ``FileNotFoundError``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from opamlock.errors import OpamlockError

TOOL_PACKAGES: dict[str, str] = {
    "sfdisk": "fdisk",
    "mkdosfs": "dosfstools",
    "syslinux": "syslinux",
    "mcopy": "mtools",
    "tar": "tar",
    "qemu-system-x86_64": "qemu-system-x86",
}

# Where Debian, Alpine and Fedora put the syslinux files (same list as solo5-virtio-mkimage).
SYSLINUX_FILES: dict[str, tuple[str, ...]] = {
    "mbr.bin": (
        "/usr/lib/syslinux/mbr/mbr.bin",
        "/usr/share/syslinux/mbr.bin",
        "/usr/lib/syslinux/bios/mbr.bin",
    ),
    "libcom32.c32": (
        "/usr/lib/syslinux/modules/bios/libcom32.c32",
        "/usr/share/syslinux/libcom32.c32",
        "/usr/lib/syslinux/bios/libcom32.c32",
    ),
    "mboot.c32": (
        "/usr/lib/syslinux/modules/bios/mboot.c32",
        "/usr/share/syslinux/mboot.c32",
        "/usr/lib/syslinux/bios/mboot.c32",
    ),
}


class MissingTool(OpamlockError):
    """A host tool or data file needed for images is not installed."""


class ToolFailed(OpamlockError):
    """A host tool exited with an error while making an image."""


def require(tool: str) -> str:
    """The path of ``tool``, or :class:`MissingTool` naming its Debian package."""
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if found is None:
        pkg = TOOL_PACKAGES.get(tool, tool)
        raise MissingTool(
            f"`{tool}` is not installed; it is needed to make the image",
            hint=f"install it: apt-get install {pkg}",
        )
    return found


def syslinux_file(name: str) -> Path:
    """One of syslinux's boot files (``mbr.bin``, ``mboot.c32``, ``libcom32.c32``)."""
    for cand in SYSLINUX_FILES[name]:
        p = Path(cand)
        if p.is_file():
            return p
    raise MissingTool(
        f"syslinux's {name} was not found (looked in {', '.join(SYSLINUX_FILES[name])})",
        hint="install it: apt-get install syslinux-common",
    )


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    cwd: Path | None = None,
) -> bytes:
    """Run a tool, returning its stdout; a failure carries the tool's own stderr."""
    try:
        proc = subprocess.run(
            list(argv), input=input, capture_output=True, env=dict(env) if env else None, cwd=cwd, check=False
        )
    except FileNotFoundError as e:
        raise MissingTool(f"`{argv[0]}` could not be run: {e}") from e
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip() or proc.stdout.decode(errors="replace").strip()
        raise ToolFailed(f"`{' '.join(map(str, argv))}` failed (exit {proc.returncode}): {err}")
    return proc.stdout
