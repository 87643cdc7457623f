"""The ``opamlock`` command line: a thin layer over the library.

Each command lives in its own module under ``opamlock.cli`` and registers itself on
:data:`main` when imported. Exit codes are decided here, in one place:

* 0: success;
* 1: a user error (:class:`~opamlock.errors.OpamlockError`) or a failed check;
* 2: a usage error (bad flags or arguments).

No traceback reaches the user for anything opamlock anticipates.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from opamlock import __version__
from opamlock.errors import OpamlockError, UsageError


class _Group(click.Group):
    """A click group that renders :class:`OpamlockError` as text and maps it to an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as e:
            click.echo(f"opamlock: error: {e.render()}", err=True)
            sys.exit(2)
        except OpamlockError as e:
            click.echo(f"opamlock: error: {e.render()}", err=True)
            sys.exit(1)
        except BrokenPipeError:
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("opamlock: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opamlock")
def main() -> None:
    """Declarative, reproducible OCaml and MirageOS builds."""


# Command modules register themselves on ``main``; each helper adds one import line here.
from opamlock.cli import _commands  # noqa: E402,F401
