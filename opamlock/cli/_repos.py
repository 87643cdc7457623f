"""The repositories a read-only command works on: ``--repo`` options, else the project's.

``list``, ``show``, ``solve`` and ``audit`` all open their universe here, so that each of them
loads a project's ``[[repository]]`` the way ``opamlock lock`` does: under its configured name
(which packages then report as their repository) and at its pinned commit (a git repository is
not read at whatever its branch points to today).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from opamlock.cli._options import enclosing_project
from opamlock.errors import OpamlockError, UsageError

if TYPE_CHECKING:
    from opamlock.project import Config
    from opamlock.repository import Universe

REPO_HELP = ("A repository: a folder holding packages/, a .tar.gz, or git+URL[#commit]. Repeat for layers, "
             "highest priority first. Default: the repositories of the project's opamlock.toml.")


def open_universe(repos: Sequence[str], *, purpose: str) -> tuple[Universe, Config | None]:
    """The universe of ``--repo`` options, else of the enclosing project's ``opamlock.toml``.

    Also returns the project's configuration when the repositories came from it (None for
    ``--repo``), so that a command needing more of it does not read the file again. ``purpose``
    completes the error when there is neither (``"to solve against"``).
    """
    from opamlock.repository import Universe, load_repository

    if repos:
        return Universe([load_repository(r) for r in repos]), None
    from opamlock.project import CONFIG_FILENAME, load_config

    root = enclosing_project()
    if root is None:
        raise UsageError(
            f"no repository {purpose}: no --repo given and no opamlock.toml here or above",
            hint="pass --repo PATH_OR_URL (a folder, a .tar.gz, or git+URL#commit; repeat for layers), "
                 "or run inside a project",
        )
    config = load_config(root / CONFIG_FILENAME)
    universe = Universe([load_repository(r.location(root), name=r.name, commit=r.commit)
                         for r in config.repositories])
    return universe, config


def require_package(universe: Universe, name: str) -> None:
    """A package named on the command line must exist: a typo is an error with the near names."""
    import difflib

    if name not in universe:
        close = difflib.get_close_matches(name, universe.names(), n=3)
        raise OpamlockError(f"no package named {name!r}",
                            hint=f"did you mean {', '.join(close)}?" if close else "see `opamlock list`")


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
