"""``opamlock image --gce``: a Solo5 virtio kernel as a GCE image, optionally boot-tested in QEMU."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import click

from opamlock.cli import main
from opamlock.errors import UsageError
from opamlock.image import boot_test, make_disk, pack_gce

DEFAULT_EXPECT = "opamlock example unikernel: hello from Solo5-style multiboot kernel"


def _sha256(path: Path) -> str:
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
    default=0,
    show_default=True,
    envvar="SOURCE_DATE_EPOCH",
    help="Timestamp stamped on every file of the image (use the lock's); also read from $SOURCE_DATE_EPOCH.",
)
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
    source_date_epoch: int,
    do_boot: bool,
    expect: str,
    timeout: float,
    kernel: Path,
    boot_args: tuple[str, ...],
) -> None:
    """Turn a Solo5 virtio (multiboot) KERNEL into a bootable image; BOOT_ARGS go to the kernel."""
    if not gce:
        raise UsageError("say which kind of image to make: --gce", hint="opamlock image --gce KERNEL")
    if output is None:
        output = kernel.parent / ("disk.tar.gz" if fmt == "tar" else "disk.raw")
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".opamlock-image-", dir=output.parent) as tmp:
        disk = output if fmt == "raw" else Path(tmp) / "disk.raw"
        make_disk(kernel, disk, boot_args=boot_args, source_date_epoch=source_date_epoch)
        if fmt == "tar":
            pack_gce(disk, output)
        click.echo(f"{output}  sha256:{_sha256(output)}")
        if do_boot:
            result = boot_test(disk, expect=expect, timeout=timeout)
            click.echo(f"boot test passed in {result.seconds:.1f} s; serial console:")
            for line in result.console.splitlines():
                if line.strip():
                    click.echo(f"  {line}")
