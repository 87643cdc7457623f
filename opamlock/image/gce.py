"""A Solo5 ``virtio`` (multiboot) kernel as a bootable disk, and as a GCE import tarball.

The steps are those of Solo5's ``solo5-virtio-mkimage``: a 1 GiB sparse disk carrying syslinux's
MBR and one bootable FAT32 partition; syslinux installed in it; ``syslinux.cfg`` chaining to
``mboot.c32`` with ``-aout`` so the multiboot kernel loads through its a.out-kludge header.

What this module adds is bit-reproducibility, which the shell script does not have:
* sfdisk gets a fixed disk identifier (it otherwise draws a random one);
* mkdosfs gets ``--invariant`` and a fixed volume id;
* every FAT directory entry is stamped with ``source_date_epoch`` afterwards (mtools uses the clock);
* ``disk.raw`` is written sparse with holes exactly where 4 KiB blocks are zero;
* the tar is GNU ``oldgnu`` with raw hole detection (independent of how the file system stored
  the holes), sorted members, owner 0, mtime 0, and gzip without name or time.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from opamlock.errors import OpamlockError
from opamlock.image import _tools
from opamlock.image.fat import pin_timestamps

DISK_SIZE = 1 << 30
SECTOR = 512
DISK_ID = 0x4F504C4B  # "OPLK"; sfdisk's label-id
VOLUME_ID = "4f504c4b"  # mkdosfs -i
PARTITION_START = 2048  # sectors, as sfdisk would choose (1 MiB alignment)
_BLOCK = 4096
MULTIBOOT_MAGIC = 0x1BADB002
#: The multiboot (v1) header must lie, 4-byte aligned, within the kernel's first 8 KiB.
MULTIBOOT_SEARCH = 8192


class NotAKernel(OpamlockError):
    """The file given as the kernel has no multiboot header, so syslinux's mboot.c32 cannot boot it."""


def check_multiboot(kernel: Path) -> int:
    """Offset of ``kernel``'s multiboot header; raise :class:`NotAKernel` when it has none.

    Checked before a 1 GiB disk is built around it: a wrong file (an ELF for ``hvt``, a build log)
    would otherwise make an image that only fails at boot, on a remote machine.
    """
    with kernel.open("rb") as f:
        head = f.read(MULTIBOOT_SEARCH)
    for off in range(0, len(head) - 11, 4):
        magic, flags, checksum = struct.unpack_from("<III", head, off)
        if magic == MULTIBOOT_MAGIC and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            return off
    raise NotAKernel(
        f"{kernel} is not a multiboot kernel: no multiboot header in its first {MULTIBOOT_SEARCH} bytes",
        hint="build the unikernel for the Solo5 virtio target (mirage configure -t virtio)",
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Partition:
    start: int
    """First sector."""
    size: int
    """Length in sectors."""


def syslinux_cfg(boot_args: tuple[str, ...] = ()) -> str:
    """The boot loader configuration solo5-virtio-mkimage writes, with the kernel's arguments."""
    append = " ".join(("-aout", "unikernel.bin", *boot_args))
    return f"SERIAL 0 115200\nDEFAULT unikernel\nLABEL unikernel\n  KERNEL mboot.c32\n  APPEND {append}\n"


def make_disk(
    kernel: Path,
    dest: Path,
    *,
    boot_args: tuple[str, ...] = (),
    source_date_epoch: int = 0,
    size: int = DISK_SIZE,
) -> Path:
    """Write the raw bootable disk for ``kernel`` to ``dest`` (replaced atomically); return ``dest``."""
    if not kernel.is_file():
        raise _tools.ToolFailed(f"kernel {kernel} does not exist or is not a file")
    check_multiboot(kernel)
    sfdisk = _tools.require("sfdisk")
    mkdosfs = _tools.require("mkdosfs")
    syslinux = _tools.require("syslinux")
    mcopy = _tools.require("mcopy")
    mbr = _tools.syslinux_file("mbr.bin")
    modules = {name: _tools.syslinux_file(name) for name in ("mboot.c32", "libcom32.c32")}

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".mkimage-", dir=dest.parent) as tmp_s:
        tmp = Path(tmp_s)
        # 1. MBR: syslinux's boot code, then a DOS label with one bootable FAT32 (LBA) partition.
        head = tmp / "image.mbr"
        shutil.copyfile(mbr, head)
        os.truncate(head, size)
        script = (
            f"label: dos\nlabel-id: 0x{DISK_ID:08x}\nunit: sectors\n\n"
            f"start={PARTITION_START}, type=c, bootable\n"
        )
        _tools.run([sfdisk, "--no-reread", "--no-tell-kernel", "-q", str(head)], input=script.encode())
        part = _partition(sfdisk, head)

        # 2. The FAT32 file system in a file of its own, then syslinux in its boot sector.
        fs = tmp / "image.dos"
        with fs.open("wb"):
            pass
        os.truncate(fs, part.size * SECTOR)
        _tools.run(
            [
                mkdosfs,
                "-F",
                "32",
                # --invariant first: it resets the volume id, so -i must come after it.
                "--invariant",
                "-i",
                VOLUME_ID,
                "-h",
                str(part.start),
                str(fs),
                str(part.size * SECTOR // 1024),
            ]
        )
        mtoolsrc = tmp / "mtoolsrc"
        mtoolsrc.write_text("mtools_skip_check=1\n")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "MTOOLSRC": str(mtoolsrc),
            "TZ": "UTC",
            "LC_ALL": "C.UTF-8",
            "SOURCE_DATE_EPOCH": str(source_date_epoch),
        }
        _tools.run([syslinux, "--install", str(fs)], env=env)

        # 3 and 4. Configuration, modules and kernel, copied in a fixed order.
        cfg = tmp / "syslinux.cfg"
        cfg.write_text(syslinux_cfg(boot_args))
        for src, name in (
            (cfg, "syslinux.cfg"),
            (modules["libcom32.c32"], "libcom32.c32"),
            (modules["mboot.c32"], "mboot.c32"),
            (kernel, "unikernel.bin"),
        ):
            _tools.run([mcopy, "-o", "-i", str(fs), str(src), f"::{name}"], env=env)
        pin_timestamps(fs, source_date_epoch)

        # 5. MBR + padding + file system, written sparse.
        out = tmp / "disk.raw"
        with out.open("wb") as w:
            with head.open("rb") as r:
                _copy_sparse(r, w, part.start * SECTOR)
            with fs.open("rb") as r:
                _copy_sparse(r, w, part.size * SECTOR)
            w.truncate(size)
            w.flush()
            os.fsync(w.fileno())
        os.replace(out, dest)
    return dest


def _partition(sfdisk: str, disk: Path) -> Partition:
    table = json.loads(_tools.run([sfdisk, "--json", str(disk)]))
    parts = table["partitiontable"]["partitions"]
    if len(parts) != 1:
        raise _tools.ToolFailed(f"sfdisk made {len(parts)} partitions, expected 1")
    return Partition(start=int(parts[0]["start"]), size=int(parts[0]["size"]))


def _copy_sparse(src: BinaryIO, dst: BinaryIO, length: int) -> None:
    """Copy ``length`` bytes from the start of ``src``, seeking over zeros so they stay holes.

    The output's holes are exactly the all-zero 4 KiB blocks, whatever the input's holes were;
    the input's own holes (found with SEEK_DATA) are only a shortcut to skip reading them.
    """
    base = dst.tell()
    fd = src.fileno()
    pos = 0
    zero = bytes(_BLOCK)
    while pos < length:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
            hole = os.lseek(fd, data, os.SEEK_HOLE)
        except OSError:  # no more data (ENXIO), or no SEEK_DATA support: read everything
            data, hole = (length, length) if pos > 0 else (pos, length)
        data, hole = min(data, length), min(hole, length)
        src.seek(data)
        off = data
        while off < hole:
            chunk = src.read(min(_BLOCK, hole - off))
            if not chunk:
                break
            if chunk != zero[: len(chunk)]:
                dst.seek(base + off)
                dst.write(chunk)
            off += len(chunk)
        pos = max(hole, pos + 1) if hole > pos else length
    dst.seek(base + length)


def pack_gce(disk: Path, dest: Path) -> Path:
    """Pack ``disk`` as ``disk.raw`` in a gzip tar in GCE's import format; reproducible bytes."""
    tar = _tools.require("tar")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pack-", dir=dest.parent) as tmp_s:
        tmp = Path(tmp_s)
        member = tmp / "disk.raw"
        if disk.resolve() != member:
            os.link(disk, member) if _same_fs(disk, tmp) else shutil.copyfile(disk, member)
        argv = [
            tar,
            "--format=oldgnu",
            "--sparse",
            "--hole-detection=raw",
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mode=0644",
            "-C",
            str(tmp),
            "-cf",
            "-",
            "disk.raw",
        ]
        part = tmp / "out.tar.gz"
        with (
            part.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        ):
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert proc.stdout is not None
            shutil.copyfileobj(proc.stdout, gz, 1 << 20)
            err = proc.stderr.read() if proc.stderr else b""
            if proc.wait() != 0:
                raise _tools.ToolFailed(f"tar failed: {err.decode(errors='replace').strip()}")
        with part.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(part, dest)
    return dest


def _same_fs(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev
