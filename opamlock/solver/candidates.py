"""What resolvelib pins: package versions, plus the virtual candidates that encode opam's formulas.

resolvelib knows only "an identifier has candidates, requirements filter them". opam formulas have
disjunctions, conflicts and conflict classes, so each is given a virtual identifier:

* a package name ``foo`` has :class:`PkgCandidate` candidates, plus :class:`Absent` when every
  requirement on ``foo`` is a conflict (nobody needs ``foo``, somebody forbids some versions);
* a ``|`` formula has an identifier of its own (``|`` + its text), whose candidates are its
  branches (:class:`Branch`); a branch's dependencies are the branch's atoms;
* a conflict class ``c`` has an identifier ``@c`` whose candidates are member *names*
  (:class:`ClassPick`): every member requires the class to pick its own name, so two members with
  different names cannot both be chosen.

:class:`PkgInfo` is the per-solve view of one package version: its formulas already evaluated
against the platform and the solve flags, so search never touches opam syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opamlock.formula import Atom, Resolved
from opamlock.package import Package
from opamlock.version import OpamVersion

__all__ = ["Absent", "Branch", "Candidate", "ClassPick", "PkgCandidate", "PkgInfo", "or_key"]


@dataclass(eq=False, slots=True)
class PkgInfo:
    """``name.version`` as this solve sees it (identity-hashed: one object per version per solve)."""

    name: str
    version: OpamVersion
    package: Package
    available: bool
    depends: Resolved | None
    conflicts: tuple[Atom, ...]
    classes: tuple[str, ...]
    avoided: bool
    #: Set by pruning when this version can be in no solution; explains why.
    dead: object | None = field(default=None)

    @property
    def nv(self) -> str:
        return f"{self.name}.{self.version}"

    def __repr__(self) -> str:
        return f"<PkgInfo {self.nv}{' dead' if self.dead else ''}>"


@dataclass(frozen=True, slots=True)
class PkgCandidate:
    info: PkgInfo = field(compare=False, hash=False)
    name: str
    version: OpamVersion

    def __str__(self) -> str:
        return f"{self.name}.{self.version}"


@dataclass(frozen=True, slots=True)
class Absent:
    """``name`` is not installed: satisfies conflict requirements only."""

    name: str

    def __str__(self) -> str:
        return f"(no {self.name})"


@dataclass(frozen=True, slots=True)
class Branch:
    """Branch ``index`` of the ``|`` formula identified by ``key``."""

    key: str
    index: int
    formula: Resolved = field(compare=False, hash=False)

    def __str__(self) -> str:
        return f"({self.formula})"


@dataclass(frozen=True, slots=True)
class ClassPick:
    """Conflict class ``cls`` is held by the package named ``member``."""

    cls: str
    member: str

    def __str__(self) -> str:
        return f"{self.member} (conflict-class {self.cls})"


Candidate = PkgCandidate | Absent | Branch | ClassPick


def or_key(formula: Resolved) -> str:
    """The identifier of a ``|`` formula: its text, so equal disjunctions share one decision."""
    return "|" + str(formula)


def class_key(cls: str) -> str:
    return "@" + cls
