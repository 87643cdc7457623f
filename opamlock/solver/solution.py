"""What a solve returns, and how it fails: the contract between the solver and everything after it.

Kept apart from the solver's machinery so that the lockfile, the Mirage checks and the validator
depend on this small module only, never on resolvelib.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from opamlock.env import PlatformVars, SolveFlags
from opamlock.errors import OpamlockError
from opamlock.formula import Atom
from opamlock.package import Package

__all__ = ["Solution", "SolveError"]


@dataclass(frozen=True)
class Solution:
    """One consistent installation set for one platform.

    ``edges[name]`` lists the dependency atoms of the chosen ``name`` that the solution relies on:
    every atom of its resolved ``depends`` conjunction, and for each ``|`` the branch(es) that the
    chosen set satisfies. Each atom keeps its ``kind`` (runtime, build, post, test, doc, dev), which
    the lock and the Mirage check need.
    """

    platform: PlatformVars
    flags: SolveFlags
    request: tuple[Atom, ...]
    packages: Mapping[str, Package]
    edges: Mapping[str, tuple[Atom, ...]] = field(default_factory=dict)

    def names(self) -> list[str]:
        return sorted(self.packages)

    def __contains__(self, name: object) -> bool:
        return name in self.packages


class SolveError(OpamlockError):
    """No solution: the message explains why, as a short chain from the request to the clash.

    ``causes`` holds the individual explanation lines (for JSON output and tests).
    """

    def __init__(self, message: str, *, causes: tuple[str, ...] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.causes = causes
