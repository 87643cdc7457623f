"""Which module defines each command, so that only the invoked command's module is imported.

Start-up time matters: ``opamlock check --mirage`` runs as a pre-commit hook on every commit and
must not pay for importing the builder, the fetcher and rich. Each command module registers its
commands on ``main`` when imported; :class:`opamlock.cli._Group` imports it on first use.
"""

from __future__ import annotations

COMMAND_MODULES: dict[str, str] = {
    "parse": "opamlock.cli.parse",
    "list": "opamlock.cli.list",
    "show": "opamlock.cli.show",
    "solve": "opamlock.cli.solve",
    "init": "opamlock.cli.project_cmds",
    "lock": "opamlock.cli.project_cmds",
    "export": "opamlock.cli.project_cmds",
    "diff": "opamlock.cli.project_cmds",
    "why": "opamlock.cli.project_cmds",
    "tree": "opamlock.cli.project_cmds",
    "check": "opamlock.cli.mirage_cmds",
    "audit": "opamlock.cli.mirage_cmds",
    "fetch": "opamlock.cli.fetch",
    "build": "opamlock.cli.build",
    "image": "opamlock.cli.image",
}
