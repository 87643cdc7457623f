"""The ``opamlock`` command line: a thin layer over the library.

Each command lives in its own module under ``opamlock.cli`` and registers itself on
:data:`main` when imported; ``_commands.COMMAND_MODULES`` says which module to import for which
command, so a command pays only for its own imports. Exit codes are decided here, in one place:

* 0: success;
* 1: a user error (:class:`~opamlock.errors.OpamlockError`) or a failed check;
* 2: a usage error (bad flags or arguments).

No traceback reaches the user for anything opamlock anticipates.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from opamlock import __version__
from opamlock.errors import OpamlockError, UsageError


class _Group(click.Group):
    """A click group that loads command modules lazily, renders :class:`OpamlockError` as text and
    maps it to an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from opamlock.cli._commands import COMMAND_MODULES

        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            from opamlock.cli._commands import COMMAND_MODULES

            module = COMMAND_MODULES.get(cmd_name)
            if module is not None:
                importlib.import_module(module)
        return self.commands.get(cmd_name)

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

