"""Pinning every timestamp in a FAT file system, so the same files give the same image bytes.

mkfs.fat has ``--invariant`` for its own fields, but mtools (used by ``mcopy`` and by ``syslinux
--install``) stamps directory entries with the current time and has no switch to fix it. Rather
than fake the clock, this module walks the directory tree of the finished file system and rewrites
the create/access/write times of every entry to one fixed instant.
"""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path
from typing import BinaryIO

from opamlock.errors import OpamlockError

DOS_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
DOS_MAX = dt.datetime(2107, 12, 31, 23, 59, 58, tzinfo=dt.UTC)
_ATTR_LFN = 0x0F
_ATTR_DIR = 0x10
_END_OF_CHAIN = 0x0FFFFFF8


class NotFat32(OpamlockError):
    """The file is not a FAT32 file system this module understands."""


def dos_datetime(epoch: int) -> tuple[int, int]:
    """(date, time) in FAT encoding for a Unix time, clamped to FAT's 1980-2107 range (UTC)."""
    t = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    t = min(max(t, DOS_EPOCH), DOS_MAX)
    date = ((t.year - 1980) << 9) | (t.month << 5) | t.day
    time = (t.hour << 11) | (t.minute << 5) | (t.second // 2)
    return date, time


def pin_timestamps(image: Path, epoch: int, *, offset: int = 0) -> int:
    """Set every directory entry's timestamps in the FAT32 file system at ``offset`` of ``image``.

    Returns the number of entries rewritten.
    """
    date, time = dos_datetime(epoch)
    with image.open("r+b") as f:
        fs = _Fat32(f, offset)
        return fs.pin(fs.root_cluster, date, time, seen=set())


class _Fat32:
    def __init__(self, f: BinaryIO, offset: int) -> None:
        self.f = f
        self.offset = offset
        f.seek(offset)
        bs = f.read(512)
        if len(bs) < 512 or bs[510:512] != b"\x55\xaa":
            raise NotFat32("no FAT boot sector signature")
        (self.bps,) = struct.unpack_from("<H", bs, 11)
        self.spc = bs[13]
        (reserved,) = struct.unpack_from("<H", bs, 14)
        nfats = bs[16]
        (fatsz16,) = struct.unpack_from("<H", bs, 22)
        (fatsz32,) = struct.unpack_from("<I", bs, 36)
        (self.root_cluster,) = struct.unpack_from("<I", bs, 44)
        if fatsz16 != 0 or self.bps == 0 or self.spc == 0:
            raise NotFat32("not a FAT32 file system")
        self.fat_start = offset + reserved * self.bps
        self.data_start = offset + (reserved + nfats * fatsz32) * self.bps
        self.cluster_size = self.bps * self.spc

    def chain(self, cluster: int) -> list[int]:
        out: list[int] = []
        while 2 <= cluster < _END_OF_CHAIN:
            if cluster in out:
                raise NotFat32(f"cluster chain loops at {cluster}")
            out.append(cluster)
            self.f.seek(self.fat_start + 4 * cluster)
            (cluster,) = struct.unpack("<I", self.f.read(4))
            cluster &= 0x0FFFFFFF
        return out

    def pin(self, first: int, date: int, time: int, seen: set[int]) -> int:
        if first in seen:
            return 0
        seen.add(first)
        count = 0
        subdirs: list[int] = []
        for cl in self.chain(first):
            pos = self.data_start + (cl - 2) * self.cluster_size
            self.f.seek(pos)
            buf = bytearray(self.f.read(self.cluster_size))
            changed = False
            for off in range(0, len(buf), 32):
                head = buf[off]
                if head == 0x00:
                    break
                attr = buf[off + 11]
                if head == 0xE5 or attr == _ATTR_LFN:
                    continue
                buf[off + 13] = 0  # creation time, 10 ms units
                struct.pack_into("<HHH", buf, off + 14, time, date, date)  # ctime, cdate, adate
                struct.pack_into("<HH", buf, off + 22, time, date)  # mtime, mdate
                changed = True
                count += 1
                name = bytes(buf[off : off + 11])
                if attr & _ATTR_DIR and not name.startswith(b"."):
                    hi, lo = (
                        struct.unpack_from("<H", buf, off + 20)[0],
                        struct.unpack_from("<H", buf, off + 26)[0],
                    )
                    subdirs.append((hi << 16) | lo)
            if changed:
                self.f.seek(pos)
                self.f.write(buf)
        for d in subdirs:
            count += self.pin(d, date, time, seen)
        return count
