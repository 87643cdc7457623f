"""``opamlock parse FILE… [--json]``: check opam files, pretty-print them or dump their trees.

Every file is processed even when an earlier one fails; the exit code is 1 if any failed.

* Without ``--json`` each file is printed back in opamlock's layout (several files are separated
  by ``# ==> FILE <==`` comment lines, so the output is still valid opam syntax).
* With ``--json`` each file gives one line in the shape of opam-file-format's reference dump
  (``../shared/oracles/opam_parse_json.ml``), written as UTF-8 bytes. A file that does not parse
  still gets its line, ``{"file":…,"ok":false,"error":"FILE:LINE:COL: message"}``, so the output
  stays one line per file in input order; the located error with its caret also goes to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from opamlock.cli import main
from opamlock.errors import LocatedError, OpamlockError
from opamlock.opamfile import error_json, parse_file, print_file, to_json


@main.command("parse")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON line per file (reference shape).")
def parse_cmd(files: tuple[Path, ...], as_json: bool) -> None:
    """Parse opam FILES; print them back, or as JSON lines with --json."""
    out = sys.stdout.buffer  # click.get_binary_stream is deprecated in click 8.5
    failed = 0
    for n, path in enumerate(files):
        name = str(path)
        try:
            tree = parse_file(name)
        except OpamlockError as e:
            failed += 1
            click.echo(f"opamlock: error: {e.render()}", err=True)
            if as_json:
                where = str(e) if isinstance(e, LocatedError) else f"{name}: {e.message}"
                out.write(error_json(name, where).encode("utf-8") + b"\n")
            continue
        if as_json:
            out.write(to_json(tree).encode("utf-8") + b"\n")
        else:
            if len(files) > 1:
                out.write(("" if n == 0 else "\n").encode() + f"# ==> {name} <==\n".encode())
            out.write(print_file(tree).encode("utf-8"))
        out.flush()
    if failed:
        click.echo(f"opamlock: {failed} of {len(files)} file(s) did not parse", err=True)
        sys.exit(1)
