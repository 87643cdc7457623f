"""GCE images: layout as solo5-virtio-mkimage, bit-reproducible, and bootable in QEMU."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opamlock.image import MissingTool, _tools, boot_test, make_disk, pack_gce, syslinux_cfg
from opamlock.image.boot import BootTestFailed
from opamlock.image.fat import dos_datetime, pin_timestamps
from opamlock.image.gce import NotAKernel, check_multiboot

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SRC = ROOT / "fixtures" / "example-kernel" / "src"
HELLO = "opamlock example unikernel: hello from Solo5-style multiboot kernel"
IMAGE_TOOLS = {"sfdisk": "fdisk", "mkdosfs": "dosfstools", "syslinux": "syslinux", "mcopy": "mtools"}


def need(tools: dict[str, str]) -> None:
    for tool, pkg in tools.items():
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            pytest.skip(f"{tool} is not installed (apt-get install {pkg})")


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example kernel built straight from the fixture sources (no opam: that is test_e2e's job)."""
    need({"gcc": "gcc", "ld": "binutils", "objcopy": "binutils", "make": "make"})
    work = tmp_path_factory.mktemp("kernel")
    shutil.copytree(EXAMPLE_SRC / "hello-kernel", work, dirs_exist_ok=True)
    subprocess.run(
        ["make", f"SUPPORT={EXAMPLE_SRC / 'hello-support'}"], cwd=work, check=True, capture_output=True
    )
    return work / "hello.bin"


def test_syslinux_cfg_matches_solo5_mkimage() -> None:
    assert syslinux_cfg(("--ipv4=10.0.0.2/24", "-l", "*:debug")) == (
        "SERIAL 0 115200\nDEFAULT unikernel\nLABEL unikernel\n  KERNEL mboot.c32\n"
        "  APPEND -aout unikernel.bin --ipv4=10.0.0.2/24 -l *:debug\n"
    )


@given(st.integers(min_value=315532800, max_value=4354819198))  # 1980-01-01 .. 2107-12-31
def test_dos_datetime_encodes_utc_fields(epoch: int) -> None:
    date, time_ = dos_datetime(epoch)
    t = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    assert (1980 + (date >> 9), (date >> 5) & 0xF, date & 0x1F) == (t.year, t.month, t.day)
    assert (time_ >> 11, (time_ >> 5) & 0x3F, (time_ & 0x1F) * 2) == (
        t.hour,
        t.minute,
        t.second - t.second % 2,
    )


def test_dos_datetime_clamps_to_fat_range() -> None:
    assert dos_datetime(0) == ((0 << 9) | (1 << 5) | 1, 0)  # 1980-01-01 00:00:00
    assert dos_datetime(10**10)[0] >> 9 == 127  # 2107


def test_pin_timestamps_makes_copies_identical(tmp_path: Path) -> None:
    need({"mkdosfs": "dosfstools", "mcopy": "mtools"})
    payload = tmp_path / "payload.txt"
    payload.write_text("same bytes\n")
    images = []
    for i in range(2):
        img = tmp_path / f"fs{i}.img"
        img.touch()
        img.write_bytes(b"")
        subprocess.run(["truncate", "-s", "40M", str(img)], check=True)
        subprocess.run(["mkdosfs", "-F", "32", "--invariant", str(img)], check=True, capture_output=True)
        subprocess.run(["mmd", "-i", str(img), "::sub"], check=True)
        subprocess.run(["mcopy", "-i", str(img), str(payload), "::sub/payload.txt"], check=True)
        images.append(img)
        if i == 0:
            time.sleep(2.1)  # FAT keeps 2-second resolution
    assert images[0].read_bytes() != images[1].read_bytes()  # mtools stamped the clock
    counts = [pin_timestamps(img, 1_700_000_000) for img in images]
    assert counts[0] == counts[1] >= 4  # sub, ., .., payload.txt
    assert images[0].read_bytes() == images[1].read_bytes()
    listing = subprocess.run(
        ["mdir", "-i", str(images[0]), "::sub"], capture_output=True, text=True, check=True
    )
    assert "2023-11-14" in listing.stdout


def test_missing_tool_names_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tools.shutil, "which", lambda *_a, **_k: None)
    with pytest.raises(MissingTool) as exc:
        _tools.require("mcopy")
    assert "apt-get install mtools" in exc.value.render()
    with pytest.raises(MissingTool) as exc:
        _tools.require("qemu-system-x86_64")
    assert "apt-get install qemu-system-x86" in exc.value.render()


@pytest.mark.slow
def test_disk_layout(tmp_path: Path, kernel: Path) -> None:
    need(IMAGE_TOOLS)
    disk = make_disk(
        kernel, tmp_path / "disk.raw", boot_args=("hello", "world"), source_date_epoch=86400 * 365 * 20
    )
    assert disk.stat().st_size == 1 << 30
    assert disk.stat().st_blocks * 512 < 8 << 20  # sparse
    table = json.loads(
        subprocess.run(["sfdisk", "--json", str(disk)], capture_output=True, check=True).stdout
    )
    (part,) = table["partitiontable"]["partitions"]
    assert (part["start"], part["type"], part.get("bootable")) == (2048, "c", True)
    assert table["partitiontable"]["id"] == "0x4f504c4b"
    mbr = Path("/usr/lib/syslinux/mbr/mbr.bin")
    if mbr.exists():  # the boot code (before the disk id and table) is syslinux's
        assert disk.read_bytes()[:440] == mbr.read_bytes()[:440]
    at = f"{disk}@@{2048 * 512}"
    names = subprocess.run(
        ["mdir", "-a", "-b", "-i", at, "::"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(n.removeprefix("::/").lower() for n in names) == sorted(
        ["ldlinux.sys", "ldlinux.c32", "syslinux.cfg", "libcom32.c32", "mboot.c32", "unikernel.bin"]
    )
    cfg = subprocess.run(
        ["mtype", "-i", at, "::syslinux.cfg"], capture_output=True, text=True, check=True
    ).stdout
    assert cfg == syslinux_cfg(("hello", "world"))
    copied = subprocess.run(["mtype", "-i", at, "::unikernel.bin"], capture_output=True, check=True).stdout
    assert copied == kernel.read_bytes()
    with disk.open("rb") as f:  # FAT32 volume id: boot sector offset 0x43, little-endian
        f.seek(2048 * 512 + 0x43)
        assert f.read(4) == (0x4F504C4B).to_bytes(4, "little")


@pytest.mark.slow
def test_same_kernel_gives_same_image_bytes(tmp_path: Path, kernel: Path) -> None:
    need({**IMAGE_TOOLS, "tar": "tar"})
    sums = []
    for run in ("a", "b"):
        disk = make_disk(kernel, tmp_path / run / "disk.raw", source_date_epoch=1_700_000_000)
        out = pack_gce(disk, tmp_path / run / "disk.tar.gz")
        sums.append((sha256(disk), sha256(out)))
        if run == "a":
            time.sleep(2.1)  # a different FAT timestamp would show up if anything leaked the clock
    assert sums[0] == sums[1]
    with tarfile.open(tmp_path / "a" / "disk.tar.gz") as tf:
        (m,) = tf.getmembers()
        assert (m.name, m.size, m.mtime, m.uid, m.gid, m.type) == (
            "disk.raw",
            1 << 30,
            0,
            0,
            0,
            tarfile.GNUTYPE_SPARSE,
        )
    raw = (tmp_path / "a" / "disk.tar.gz").read_bytes()
    assert (
        raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0" and not raw[3] & 0x08
    )  # gzip -n: no mtime, no name
    # GNU tar restores the same disk from the sparse archive.
    x = tmp_path / "x"
    x.mkdir()
    subprocess.run(["tar", "-xSzf", str(tmp_path / "a" / "disk.tar.gz"), "-C", str(x)], check=True)
    assert sha256(x / "disk.raw") == sums[0][0]


def test_boot_args_reach_the_config(tmp_path: Path, kernel: Path) -> None:
    need(IMAGE_TOOLS)
    cfgs = []
    for arg in ("one", "two"):
        disk = make_disk(kernel, tmp_path / f"{arg}.raw", boot_args=(arg,))
        at = f"{disk}@@{2048 * 512}"
        cfgs.append(
            subprocess.run(["mtype", "-i", at, "::syslinux.cfg"], capture_output=True, text=True).stdout
        )
    assert cfgs == [syslinux_cfg(("one",)), syslinux_cfg(("two",))]


@pytest.mark.slow
def test_boot_in_qemu_prints_known_line(tmp_path: Path, kernel: Path) -> None:
    need({**IMAGE_TOOLS, "qemu-system-x86_64": "qemu-system-x86"})
    disk = make_disk(kernel, tmp_path / "disk.raw", boot_args=("answer=42",))
    before = disk.stat().st_mtime_ns
    result = boot_test(disk, expect=HELLO, timeout=120)
    assert HELLO in result.matched
    assert "SYSLINUX" in result.console  # booted through the disk's boot loader, not -kernel
    assert "cmdline: unikernel.bin answer=42" in result.console
    assert disk.stat().st_mtime_ns == before  # -snapshot: booting does not write the image


@pytest.mark.slow
def test_boot_test_fails_with_console(tmp_path: Path, kernel: Path) -> None:
    need({**IMAGE_TOOLS, "qemu-system-x86_64": "qemu-system-x86"})
    disk = make_disk(kernel, tmp_path / "disk.raw")
    with pytest.raises(BootTestFailed) as exc:
        boot_test(disk, expect="this line is never printed", timeout=20)
    assert HELLO in exc.value.console
    assert "never printed" in exc.value.render()


def test_a_file_without_multiboot_header_is_refused_before_any_disk_is_made(tmp_path: Path) -> None:
    not_kernel = tmp_path / "notes.txt"
    not_kernel.write_bytes(b"this is a build log, not a kernel\n" * 300)
    dest = tmp_path / "out" / "disk.raw"
    with pytest.raises(NotAKernel) as err:
        make_disk(not_kernel, dest)
    assert "notes.txt is not a multiboot kernel" in err.value.message
    assert err.value.hint and "virtio" in err.value.hint
    assert not dest.exists()


def test_multiboot_header_needs_a_valid_checksum(tmp_path: Path, kernel: Path) -> None:
    off = check_multiboot(kernel)
    assert off % 4 == 0 and off < 8192
    broken = bytearray(kernel.read_bytes())
    broken[off + 8] ^= 0xFF  # corrupt the checksum word only
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(broken))
    with pytest.raises(NotAKernel):
        check_multiboot(bad)
