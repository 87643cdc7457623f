"""Solo5 images: a multiboot (``virtio``) kernel as a bootable disk or a GCE import tarball.

* :func:`make_disk` writes ``disk.raw`` (MBR + syslinux + FAT32, as ``solo5-virtio-mkimage``);
* :func:`pack_gce` packs it in GCE's import format (sparse oldgnu tar, gzip), reproducibly;
* :func:`boot_test` boots it in QEMU and waits for a line on the serial console.

This is the last stage of the pipeline; it imports nothing from the earlier ones.
"""

from __future__ import annotations

from opamlock.image._tools import MissingTool, ToolFailed
from opamlock.image.boot import BootResult, BootTestFailed, boot_test
from opamlock.image.gce import make_disk, pack_gce, syslinux_cfg

__all__ = [
    "BootResult",
    "BootTestFailed",
    "MissingTool",
    "ToolFailed",
    "boot_test",
    "make_disk",
    "pack_gce",
    "syslinux_cfg",
]
