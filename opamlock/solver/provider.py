"""The resolvelib provider: thin, as pip's is. The factory knows the universe; this only adapts.

Decision order (``get_preference``, smallest first), the part of opam's preferences that is about
*what to decide first*:

1. the requested names, in request order: newest roots are pinned before anything else can
   constrain them;
2. ``ocaml``: nearly every package constrains the compiler, so deciding it early, right after the
   roots, keeps dependencies from dragging it around;
3. identifiers named in the last backtrack's causes;
4. identifiers with fewer remaining candidates (a forced choice costs nothing);
5. the identifier itself, so the order never depends on hashing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from resolvelib.providers import AbstractProvider

from opamlock.solver.candidates import Absent, Branch, Candidate, ClassPick, PkgCandidate
from opamlock.solver.factory import Factory
from opamlock.solver.requirements import Requirement, satisfies

__all__ = ["EARLY", "Provider"]

#: Decided right after the roots.
EARLY = ("ocaml",)


def identify(x: Requirement | Candidate) -> str:
    if isinstance(x, PkgCandidate | Absent):
        return x.name
    if isinstance(x, Branch):
        return x.key
    if isinstance(x, ClassPick):
        return "@" + x.cls
    return x.key


class Provider(AbstractProvider):  # type: ignore[type-arg,misc]
    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self._root_rank = {name: k for k, name in enumerate(factory.roots)}
        self._early = {name: k for k, name in enumerate(EARLY)}

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return identify(requirement_or_candidate)

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> Iterable[str]:
        ids = list(identifiers)
        self.factory.note_pins(resolutions)
        # Roots and the compiler before anything else, one at a time.
        firsts = [i for i in ids if i in self._root_rank or i in self._early]
        if firsts:
            return [min(firsts, key=lambda i: (self._root_rank.get(i, len(self._root_rank)),
                                               self._early.get(i, 0)))]
        return ids

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, int, str]:
        causes = {identify(c.requirement) for c in backtrack_causes} | {
            identify(c.parent) for c in backtrack_causes if c.parent is not None
        }
        n = sum(1 for _ in itertools.islice(candidates[identifier], 32))
        return (identifier not in causes, n, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Sequence[Candidate]:
        return self.factory.matches(identifier, list(requirements[identifier]),
                                    incompatibilities[identifier])

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        return satisfies(requirement, candidate)

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        return self.factory.dependencies(candidate)
