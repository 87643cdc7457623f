"""Classify one package for a Mirage target: its Unix markers and its *runtime* dependency formula.

Only what is linked into the unikernel counts. So a dependency formula is cut down to runtime
atoms (``{build}``, ``{post}``, test, doc and dev atoms go), edges to host build tools, compiler
packages and ``conf-*`` tools go, and the shipped or project edge exceptions go. What remains is a
formula over two kinds of leaves:

* :class:`MarkerLeaf`: a dependency that is itself the problem (``base-unix``, ``base-threads``,
  a ``conf-*`` system library). It never becomes a graph node: the *depending* package is the
  culprit, with the marker ``depends on base-unix``;
* :class:`Dep`: a dependency on an ordinary package, to be judged in turn.

A ``|`` with a branch that links nothing links nothing (a choice exists), so it is dropped whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from opamlock.env import PlatformVars, package_env
from opamlock.formula import And, Atom, Or, Resolved
from opamlock.mirage.rules import Rules
from opamlock.package import Package

__all__ = [
    "Dep",
    "Marker",
    "MarkerLeaf",
    "RAnd",
    "RNode",
    "ROr",
    "dep_marker",
    "monorepo_warnings",
    "runtime_formula",
    "runtime_names",
    "self_markers",
    "target_env",
]

MarkerKind = Literal["unix-dep", "c-library", "depexts", "name", "is-unix", "is-c-library"]


@dataclass(frozen=True, slots=True)
class Marker:
    """Why a package is Unix-bound, in words a user can act on."""

    kind: MarkerKind
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Dep:
    atom: Atom


@dataclass(frozen=True, slots=True)
class MarkerLeaf:
    atom: Atom
    marker: Marker


@dataclass(frozen=True, slots=True)
class RAnd:
    items: tuple[RNode, ...]


@dataclass(frozen=True, slots=True)
class ROr:
    items: tuple[RNode, ...]


RNode: TypeAlias = Dep | MarkerLeaf | RAnd | ROr


def target_env(platform: PlatformVars, pkg: Package) -> dict[str, str | bool]:
    """Variables for ``pkg``'s filters on a Mirage target: solving flags, no tests/docs/dev."""
    return package_env(platform, pkg.name, str(pkg.version))


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


def _keep(src: str, atom: Atom, rules: Rules) -> RNode | None:
    if atom.kind != "runtime":
        return None
    if rules.edge_rule(src, atom.name) is not None or rules.ignores_target(atom.name):
        return None
    m = dep_marker(atom.name, rules)
    if m is not None:
        return MarkerLeaf(atom, m)
    if atom.name in rules.allowed:
        return None
    return Dep(atom)


def _filter(src: str, f: Resolved, rules: Rules) -> RNode | None:
    if isinstance(f, Atom):
        return _keep(src, f, rules)
    parts = [_filter(src, i, rules) for i in f.items]
    if isinstance(f, And):
        kept = [p for p in parts if p is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else RAnd(tuple(kept))
    assert isinstance(f, Or)
    if any(p is None for p in parts):
        return None  # some branch links nothing: a choice exists
    ps = [p for p in parts if p is not None]
    return ps[0] if len(ps) == 1 else ROr(tuple(ps))


def runtime_formula(pkg: Package, platform: PlatformVars, rules: Rules) -> RNode | None:
    """``pkg``'s dependencies that would be linked into the unikernel, or ``None`` for none."""
    resolved = pkg.depends_formula().resolve(target_env(platform, pkg))
    if resolved is None:
        return None
    return _filter(pkg.name, resolved, rules)


def runtime_names(src: str, atoms: Iterable[tuple[str, str]], rules: Rules) -> list[str]:
    """From a lock's or a solution's chosen edges (name, kind): the names linked from ``src``."""
    out: list[str] = []
    for name, kind in atoms:
        node = _keep(src, Atom(name, kind=kind), rules)  # type: ignore[arg-type]
        if isinstance(node, Dep):
            out.append(name)
    return out


def edge_markers(src: str, atoms: Iterable[tuple[str, str]], rules: Rules) -> list[Marker]:
    """Markers from chosen runtime edges (a lock's ``depends``): ``depends on base-unix``…"""
    atoms = list(atoms)
    runtime = {name for name, kind in atoms if kind == "runtime"}
    out: list[Marker] = []
    for name, kind in atoms:
        node = _keep(src, Atom(name, kind=kind), rules)  # type: ignore[arg-type]
        if not isinstance(node, MarkerLeaf) or node.marker in out:
            continue
        # Chosen edges are flat: for `"gmp" | "conf-gmp"` both are listed when both are in the set
        # (conf-gmp pulled in by someone's build dependency). The portable sibling being an edge
        # too means the `|` is satisfied without the system library.
        sib = rules.sibling(name)
        if node.marker.kind == "c-library" and sib is not None and sib in runtime:
            continue
        out.append(node.marker)
    return out


def builds_with_dune(pkg: Package, platform: PlatformVars) -> bool:
    """opam-monorepo vendors only dune projects: a dune dependency or a dune build command."""
    if "dune" in pkg.depends_formula().names() or "jbuilder" in pkg.depends_formula().names():
        return True
    env = target_env(platform, pkg)
    return any(c.args and c.args[0] in ("dune", "jbuilder") for c in pkg.commands("build", env))


def has_cross_compile_tag(pkg: Package) -> bool:
    from opamlock.opamfile import ast

    raw = pkg.field("tags")
    items = raw.items if isinstance(raw, ast.List) else [raw] if raw is not None else []
    return any(isinstance(i, ast.String) and i.value == "cross-compile" for i in items)


def monorepo_warnings(pkg: Package, platform: PlatformVars, *, tag_required: bool) -> list[str]:
    """opam-monorepo's own rules, broken: warnings, distinct from Unix errors.

    ``tag_required`` is true when some version of the package carries the ``cross-compile`` tag,
    which is when ``opam-monorepo lock --require-cross-compile`` insists on it.
    """
    out: list[str] = []
    if pkg.url is not None and not builds_with_dune(pkg, platform):
        out.append("does not build with dune (opam-monorepo cannot vendor it)")
    if tag_required and not has_cross_compile_tag(pkg):
        out.append("lacks the cross-compile tag that other versions of it carry")
    return out
