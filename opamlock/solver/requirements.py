"""Requirements resolvelib filters candidates with: the positive and negative halves of opam formulas."""

from __future__ import annotations

from dataclasses import dataclass, field

from opamlock.formula import Atom, Or, VersionFormula, vmatch
from opamlock.solver.candidates import Absent, Branch, Candidate, ClassPick, PkgCandidate, class_key, or_key

__all__ = ["Choose", "Forbid", "Member", "Need", "Requirement", "satisfies"]


@dataclass(frozen=True, slots=True)
class Need:
    """``name`` must be installed at a version matching ``vf`` (a ``depends`` atom or a request)."""

    atom: Atom

    @property
    def key(self) -> str:
        return self.atom.name

    def __str__(self) -> str:
        return str(self.atom)


@dataclass(frozen=True, slots=True)
class Forbid:
    """``name`` must not be installed at a version matching ``vf`` (a ``conflicts`` atom)."""

    name: str
    vf: VersionFormula

    @property
    def key(self) -> str:
        return self.name

    def __str__(self) -> str:
        c = str(self.vf)
        return f"not {self.name}" + (f" {{{c}}}" if c else "")


@dataclass(frozen=True, slots=True)
class Choose:
    """One branch of a ``|`` formula must hold."""

    formula: Or = field(compare=False, hash=False)
    key: str = ""

    def __str__(self) -> str:
        return str(self.formula)


def choose(formula: Or) -> Choose:
    return Choose(formula, or_key(formula))


@dataclass(frozen=True, slots=True)
class Member:
    """Conflict class ``cls`` must be held by ``member`` (no other name may hold it)."""

    cls: str
    member: str

    @property
    def key(self) -> str:
        return class_key(self.cls)

    def __str__(self) -> str:
        return f"{self.member} holds conflict-class {self.cls}"


Requirement = Need | Forbid | Choose | Member


def satisfies(req: Requirement, cand: Candidate) -> bool:
    """Does ``cand`` satisfy ``req``? (Both have the same identifier.)"""
    if isinstance(req, Need):
        return isinstance(cand, PkgCandidate) and vmatch(req.atom.vf, cand.version)
    if isinstance(req, Forbid):
        if isinstance(cand, Absent):
            return True
        return isinstance(cand, PkgCandidate) and not vmatch(req.vf, cand.version)
    if isinstance(req, Choose):
        return isinstance(cand, Branch) and cand.key == req.key
    return isinstance(cand, ClassPick) and cand.member == req.member
