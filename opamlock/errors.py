"""Error types shared by every layer.

The library never prints or exits. Everything a user can get wrong raises a subclass of
:class:`OpamlockError`, which carries a one-line message and an optional hint; the CLI turns
those into exit code 1 in a single place. Anything else escaping is a bug in opamlock.
"""

from __future__ import annotations


class OpamlockError(Exception):
    """A problem with the user's input or environment (exit code 1)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """Human text for the terminal: the message, then the hint if any."""
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class UsageError(OpamlockError):
    """The command line itself is wrong (exit code 2)."""


class LocatedError(OpamlockError):
    """An error at a place in a text file: rendered as ``file:line:col: message`` plus a caret."""

    def __init__(
        self,
        message: str,
        *,
        filename: str,
        line: int,
        col: int,
        source_line: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.filename = filename
        self.line = line
        self.col = col
        self.source_line = source_line

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}: {self.message}"

    def render(self) -> str:
        out = [str(self)]
        if self.source_line is not None:
            text = self.source_line.rstrip("\n")
            out.append("  " + text)
            # Columns are 1-based; clamp so a caret past the end still shows.
            caret_at = max(0, min(self.col - 1, len(text)))
            out.append("  " + " " * caret_at + "^")
        if self.hint:
            out.append(f"hint: {self.hint}")
        return "\n".join(out)
