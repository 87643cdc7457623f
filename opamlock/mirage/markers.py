"""Markers of Unix-bound packages, and how one dependency edge counts for a unikernel.

Kept free of the package model and the opam parser on purpose: ``check --mirage`` on a locked
project is a pre-commit hook, and classifying a lock's ``(name, kind)`` edges needs only the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from opamlock.mirage.rules import Rules

__all__ = ["Marker", "dep_marker", "edge_markers", "link_kind", "runtime_names", "self_markers"]

MarkerKind = Literal["unix-dep", "c-library", "depexts", "name", "is-unix", "is-c-library"]


@dataclass(frozen=True, slots=True)
class Marker:
    """Why a package is Unix-bound, in words a user can act on."""

    kind: MarkerKind
    text: str

    def __str__(self) -> str:
        return self.text


def self_markers(name: str, depexts: Iterable[str], rules: Rules) -> tuple[Marker, ...]:
    """Markers a package carries by itself: its name or role, and ``depexts`` on the platform."""
    if name in rules.allowed:
        return ()
    out: list[Marker] = []
    if name in rules.unix_markers:
        out.append(Marker("is-unix", f"is {name}, the OCaml {name.removeprefix('base-')} library"))
    elif rules.is_conf_library(name):
        out.append(Marker("is-c-library", f"is {name}, a system C library"))
    else:
        why = rules.unix_name_reason(name)
        if why is not None:
            out.append(Marker("name", why))
    deps = sorted(set(depexts))
    if deps:
        out.append(Marker("depexts", "depexts: " + ", ".join(deps)))
    return tuple(out)


def dep_marker(name: str, rules: Rules) -> Marker | None:
    """The marker for *depending on* ``name`` at runtime, if that alone makes a package Unix-bound."""
    if name in rules.allowed:
        return None
    if name in rules.unix_markers:
        return Marker("unix-dep", f"depends on {name}")
    if rules.is_conf_library(name):
        return Marker("c-library", f"depends on {name} (system C library)")
    return None


def link_kind(src: str, name: str, kind: str, rules: Rules) -> Marker | bool:
    """How ``src``'s edge to ``name`` counts: ``False`` (links nothing), ``True`` (links the
    package, to be judged in turn) or a :class:`Marker` (the edge itself is the problem)."""
    if kind != "runtime":
        return False
    if rules.edge_rule(src, name) is not None or rules.ignores_target(name):
        return False
    m = dep_marker(name, rules)
    if m is not None:
        return m
    return name not in rules.allowed


def runtime_names(src: str, atoms: Iterable[tuple[str, str]], rules: Rules) -> list[str]:
    """From a lock's or a solution's chosen edges (name, kind): the names linked from ``src``."""
    return [name for name, kind in atoms if link_kind(src, name, kind, rules) is True]


def edge_markers(src: str, atoms: Iterable[tuple[str, str]], rules: Rules) -> list[Marker]:
    """Markers from chosen runtime edges (a lock's ``depends``): ``depends on base-unix``…"""
    atoms = list(atoms)
    runtime = {name for name, kind in atoms if kind == "runtime"}
    out: list[Marker] = []
    for name, kind in atoms:
        m = link_kind(src, name, kind, rules)
        if not isinstance(m, Marker) or m in out:
            continue
        # Chosen edges are flat: for `"gmp" | "conf-gmp"` both are listed when both are in the set
        # (conf-gmp pulled in by someone's build dependency). The portable sibling being an edge
        # too means the `|` is satisfied without the system library.
        sib = rules.sibling(name)
        if m.kind == "c-library" and sib is not None and sib in runtime:
            continue
        out.append(m)
    return out
