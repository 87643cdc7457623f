"""``opamlock image --gce``: a Solo5 virtio kernel as a GCE image, optionally boot-tested in QEMU.

The image's timestamps default to the lock's ``source-date-epoch`` (the newest repository commit),
so that ``opamlock build`` and ``opamlock image`` in a locked project agree without a flag.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import click

from opamlock.cli import main
from opamlock.cli._options import cwd_project_option
from opamlock.errors import OpamlockError, UsageError
from opamlock.image import boot_test, make_disk, pack_gce
from opamlock.lockfile import LOCK_FILENAME, load

DEFAULT_EXPECT = "opamlock example unikernel: hello from Solo5-style multiboot kernel"


def _epoch(given: int | None, project: Path) -> tuple[int, str]:
    """The timestamp to stamp and where it came from: the flag or $SOURCE_DATE_EPOCH, the lock, or 0."""
    if given is not None:
        return given, "--source-date-epoch"
    lock_path = project / LOCK_FILENAME
    if lock_path.is_file():
        return load(lock_path).source_date_epoch, str(lock_path)
    return 0, "default"


def _sha256(path: Path) -> str:
    # Not opamlock.fetch.checksum.hash_file: importing the fetch package (requests) would more
    # than double this command's start-up for five lines.
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@main.command("image")
@click.option("--gce", is_flag=True, help="Make a Google Compute Engine image (the only kind so far).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tar", "raw"]),
    default="tar",
    show_default=True,
    help="tar: disk.raw in GCE's import tar.gz; raw: the bare disk.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Output file (default: disk.tar.gz or disk.raw beside the kernel).",
)
@click.option(
    "--source-date-epoch",
    type=int,
    default=None,
    envvar="SOURCE_DATE_EPOCH",
    help="Timestamp stamped on every file of the image; also read from $SOURCE_DATE_EPOCH. "
    f"Default: the source-date-epoch of PROJECT/{LOCK_FILENAME} if there is one, else 0.",
)
@cwd_project_option(help="The project whose lock gives the default --source-date-epoch.")
@click.option(
    "--boot-test",
    "do_boot",
    is_flag=True,
    help="Boot the image in QEMU and wait for --expect on the console.",
)
@click.option(
    "--expect", default=DEFAULT_EXPECT, show_default=True, help="Console text the boot test waits for."
)
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Boot test time limit (seconds)."
)
@click.argument("kernel", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("boot_args", nargs=-1)
def image(
    gce: bool,
    fmt: str,
    output: Path | None,
    source_date_epoch: int | None,
    project: Path,
    do_boot: bool,
    expect: str,
    timeout: float,
    kernel: Path,
    boot_args: tuple[str, ...],
) -> None:
    """Turn a Solo5 virtio (multiboot) KERNEL into a bootable image; BOOT_ARGS go to the kernel."""
    if not gce:
        raise UsageError("say which kind of image to make: --gce", hint="opamlock image --gce KERNEL")
    epoch, origin = _epoch(source_date_epoch, project)
    click.echo(f"source-date-epoch {epoch} ({origin})", err=True)
    if output is None:
        output = kernel.parent / ("disk.tar.gz" if fmt == "tar" else "disk.raw")
    output = output.resolve()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        work = tempfile.TemporaryDirectory(prefix=".opamlock-image-", dir=output.parent)
    except OSError as e:
        raise OpamlockError(f"cannot write {output}: {e.strerror or e}",
                            hint="pass -o PATH in a writable directory") from e
    with work as tmp:
        disk = output if fmt == "raw" else Path(tmp) / "disk.raw"
        make_disk(kernel, disk, boot_args=boot_args, source_date_epoch=epoch)
        if fmt == "tar":
            pack_gce(disk, output)
        click.echo(f"{output}  sha256:{_sha256(output)}")
        if do_boot:
            result = boot_test(disk, expect=expect, timeout=timeout)
            click.echo(f"boot test passed in {result.seconds:.1f} s; serial console:")
            for line in result.console.splitlines():
                if line.strip():
                    click.echo(f"  {line}")
