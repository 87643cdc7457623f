"""Imports every command module so that each registers itself on the ``main`` group.

One line per module keeps concurrent edits from colliding.
"""

from __future__ import annotations

# One import per line, appended by whoever adds a command: order carries no meaning here.
# ruff: noqa: I001
from opamlock.cli import image  # noqa: F401
from opamlock.cli import build  # noqa: F401
from opamlock.cli import solve  # noqa: F401
from opamlock.cli import fetch  # noqa: F401
from opamlock.cli import project_cmds  # noqa: F401
from opamlock.cli import list  # noqa: F401
from opamlock.cli import show  # noqa: F401
from opamlock.cli import mirage_cmds  # noqa: F401
from opamlock.cli import parse  # noqa: F401
