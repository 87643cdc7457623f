"""``opamlock list [--all-versions]``: the packages of the repositories, as ``opam list -A --short``."""

from __future__ import annotations

import sys

import click

from opamlock.cli import main
from opamlock.cli._repos import REPO_HELP, open_universe, report_load_notes


@main.command("list")
@click.option("--all-versions", "-a", "all_versions", is_flag=True,
              help="Print every NAME.VERSION, not only names (as opam list --all-versions).")
@click.option("--repo", "repos", multiple=True, metavar="PATH_OR_URL", help=REPO_HELP)
def list_command(all_versions: bool, repos: tuple[str, ...]) -> None:
    """List the packages of the repositories, sorted as opam sorts them."""
    universe, _ = open_universe(repos, purpose="to list")
    report_load_notes(universe)
    lines: list[str] = []
    for name in universe.names():
        if all_versions:
            lines.extend(f"{name}.{v}" for v in universe.version_strings(name))
        else:
            lines.append(name)
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
