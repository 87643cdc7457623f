"""``opamlock list [--all-versions]``: the packages of the repositories, as ``opam list -A --short``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from opamlock.cli import main
from opamlock.errors import OpamlockError, UsageError

if TYPE_CHECKING:
    from opamlock.repository import Universe

REPO_HELP = ("A repository: a folder holding packages/, a .tar.gz, or git+URL[#commit]. Repeat for layers, "
             "highest priority first. Default: the repositories of the project's opamlock.toml.")


def open_universe(repos: tuple[str, ...]) -> Universe:
    """The universe of ``--repo`` options, else of the enclosing project's ``opamlock.toml``."""
    from opamlock.repository import Universe, load_repository

    if repos:
        return Universe([load_repository(r) for r in repos])
    from opamlock.project import CONFIG_FILENAME, find_project, load_config

    try:
        root = find_project(Path.cwd())
    except OpamlockError:
        raise UsageError(
            "no repository given and no opamlock.toml here or above",
            hint="pass --repo PATH_OR_URL (a folder, a .tar.gz, or git+URL#commit)",
        ) from None
    config = load_config(root / CONFIG_FILENAME)
    return Universe([load_repository(r.location(root), name=r.name, commit=r.commit)
                     for r in config.repositories])


def report_load_notes(universe: Universe) -> None:
    """Collisions and unloadable opam files go to stderr: never silently dropped, never in stdout."""
    for c in universe.collisions:
        click.echo(f"opamlock: note: {c.render()}", err=True)
    problems = universe.problems()
    if problems:
        click.echo(f"opamlock: warning: {len(problems)} opam file(s) could not be loaded and are left out:",
                   err=True)
        for _, p in problems:
            click.echo(f"  {p.render()}", err=True)


@main.command("list")
@click.option("--all-versions", "-a", "all_versions", is_flag=True,
              help="Print every NAME.VERSION, not only names (as opam list --all-versions).")
@click.option("--repo", "repos", multiple=True, metavar="PATH_OR_URL", help=REPO_HELP)
def list_command(all_versions: bool, repos: tuple[str, ...]) -> None:
    """List the packages of the repositories, sorted as opam sorts them."""
    universe = open_universe(repos)
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
