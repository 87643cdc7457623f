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

from dataclasses import dataclass
from typing import TypeAlias

from opamlock.env import PlatformVars, package_env
from opamlock.formula import And, Atom, Or, Resolved
from opamlock.mirage.markers import Marker, dep_marker, edge_markers, link_kind, runtime_names, self_markers
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
    "edge_markers",
    "monorepo_warnings",
    "runtime_formula",
    "runtime_names",
    "self_markers",
    "target_env",
]

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


def _keep(src: str, atom: Atom, rules: Rules) -> RNode | None:
    k = link_kind(src, atom.name, atom.kind, rules)
    if isinstance(k, Marker):
        return MarkerLeaf(atom, k)
    return Dep(atom) if k else None


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
