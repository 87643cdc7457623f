"""Options shared by several commands, and the one way each of them is resolved.

Two project options exist on purpose: commands that act on a built or fetched project
(``build``, ``fetch``, ``image``) take ``-C/--project`` defaulting to the current directory, as
make and git do; commands that edit or read the lock (``lock``, ``export``, ``why``, ``tree``,
``check``) take ``--project`` and otherwise search upward for ``opamlock.toml``, as cargo does.

This module is imported by ``check --mirage``, the pre-commit command: it must stay light (no
tomlkit, no lockfile module at import time), hence the literal file names in help texts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from opamlock.errors import OpamlockError

if TYPE_CHECKING:
    from opamlock.fetch import Store
    from opamlock.lockfile import Lock

F = TypeVar("F", bound=Callable[..., Any])


def cwd_project_option(
    help: str = "The project directory (holding opamlock.toml and the lock).",
) -> Callable[[F], F]:
    """``-C/--project DIR`` (default: the current directory), which must exist."""
    return click.option(
        "-C",
        "--project",
        type=click.Path(path_type=Path, file_okay=False, exists=True),
        default=Path("."),
        show_default=True,
        help=help,
    )


#: ``--project DIR`` for the lock commands; ``None`` means "search upward" (:func:`project_root`).
search_project_option = click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The project directory (default: the nearest one above the current directory with opamlock.toml).",
)


def lock_option(help: str = "The lock file (default: PROJECT/opamlock.lock).") -> Callable[[F], F]:
    """``--lock FILE``, passed as ``lock_path``; None means the project's lock."""
    return click.option(
        "--lock", "lock_path", type=click.Path(path_type=Path, dir_okay=False), default=None, help=help
    )


store_option = click.option(
    "--store",
    "store_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The content-addressed source store (default: $OPAMLOCK_CACHE/store, else the XDG cache).",
)


def project_root(project_dir: Path | None) -> Path:
    """``--project``, else the nearest directory at or above the current one with ``opamlock.toml``.

    Raises the project module's error (with its ``opamlock init`` hint) when there is none.
    """
    from opamlock.project import find_project

    return project_dir.resolve() if project_dir is not None else find_project(Path.cwd())


def enclosing_project() -> Path | None:
    """The nearest directory at or above the current one with ``opamlock.toml``, or None."""
    try:
        return project_root(None)
    except OpamlockError:
        return None


def load_project_lock(project: Path, lock_path: Path | None = None) -> Lock:
    """``--lock``, else the project's ``opamlock.lock``; a missing one names `opamlock lock`."""
    from opamlock.lockfile import LOCK_FILENAME, load

    return load(lock_path if lock_path is not None else project / LOCK_FILENAME)


def open_store(store_dir: Path | None) -> Store:
    """``--store``, else the user's default store."""
    from opamlock.fetch import Store

    return Store(store_dir) if store_dir is not None else Store.default()
