"""Package formulas and version formulas, as opam evaluates them.

A package formula (``depends``, ``depopts``, ``conflicts``) is a tree of ``&``/``|`` over
*atoms* ``"name" {condition}``. A condition mixes *filters* (``build``, ``os = "linux"``) with
*version constraints* (``>= "1.0"``, ``= version``), joined by ``&``/``|`` and negated by ``!``.

Evaluating a formula against an environment (:meth:`Formula.resolve`) gives a plain formula over
:class:`Atom` (a name and a :data:`VersionFormula`), with these opam rules:

* a filter that is false, or undefined, removes the atom: it becomes *Empty*;
* Empty vanishes from ``&`` and ``|`` (``make_or Empty x = x``), so ``"a" {with-test} | "b"``
  without tests requires ``b``;
* a constraint whose version is undefined (``{= foo:version}`` where that is not visible) also
  removes the atom (opam >= 2.2; opam 2.1 kept the atom unconstrained), while a constraint whose
  version expands to something that is not a version is ignored, as opam ignores it;
* ``!`` is pushed inward: relational operators are negated, filters are negated, and ``&``/``|``
  swap. Each filter *leaf* is then evaluated on its own, undefined meaning false, exactly as opam
  splits ``{build & (os != "macos" | = "disabled")}`` into a formula over filter and constraint
  atoms.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from opamlock.errors import OpamlockError
from opamlock.filter import FilterEnv, eval_filter, expand_string, to_bool
from opamlock.opamfile import ast
from opamlock.version import InvalidVersion, OpamVersion

__all__ = [
    "And",
    "Atom",
    "Formula",
    "InvalidAtom",
    "InvalidFormula",
    "Or",
    "Resolved",
    "VAnd",
    "VConstraint",
    "VOr",
    "VTrue",
    "VersionFormula",
    "atoms_of",
    "formula_of_value",
    "parse_atom",
    "vmatch",
]

Kind = Literal["runtime", "build", "post", "test", "doc", "dev"]

_NEGATE = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


class InvalidFormula(OpamlockError):
    """A field that should hold a package formula holds something else."""


class InvalidAtom(OpamlockError):
    """A package atom on the command line or in a config file that cannot be read."""


# --------------------------------------------------------------------------------------------
# Version formulas (evaluated)


@dataclass(frozen=True, slots=True)
class VTrue:
    def __str__(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class VConstraint:
    op: str
    version: OpamVersion

    def __str__(self) -> str:
        return f'{self.op} "{self.version}"'


@dataclass(frozen=True, slots=True)
class VAnd:
    items: tuple[VersionFormula, ...]

    def __str__(self) -> str:
        return " & ".join(_vparen(i, "&") for i in self.items)


@dataclass(frozen=True, slots=True)
class VOr:
    items: tuple[VersionFormula, ...]

    def __str__(self) -> str:
        return " | ".join(_vparen(i, "|") for i in self.items)


VersionFormula: TypeAlias = VTrue | VConstraint | VAnd | VOr
V_TRUE: Final = VTrue()


def _vparen(v: VersionFormula, ctx: str) -> str:
    if (isinstance(v, VOr) and ctx == "&") or (isinstance(v, VAnd) and ctx == "|"):
        return f"({v})"
    return str(v)


def vmatch(vf: VersionFormula, version: OpamVersion) -> bool:
    """Does ``version`` satisfy the version formula?"""
    if isinstance(vf, VConstraint):
        k, c = version.key, vf.version.key
        op = vf.op
        if op == "=":
            return k == c
        if op == ">=":
            return k >= c
        if op == "<":
            return k < c
        if op == "<=":
            return k <= c
        if op == ">":
            return k > c
        return k != c
    if isinstance(vf, VTrue):
        return True
    if isinstance(vf, VAnd):
        return all(vmatch(i, version) for i in vf.items)
    return any(vmatch(i, version) for i in vf.items)


class _False:
    """The condition is false: the atom is dropped (opam's Empty)."""


_FALSE: Final = _False()
_Cond: TypeAlias = "VersionFormula | _False"


def _cand(a: _Cond, b: _Cond) -> _Cond:
    if isinstance(a, _False) or isinstance(b, _False):
        return _FALSE
    if isinstance(a, VTrue):
        return b
    if isinstance(b, VTrue):
        return a
    items = (a.items if isinstance(a, VAnd) else (a,)) + (b.items if isinstance(b, VAnd) else (b,))
    return VAnd(items)


def _cor(a: _Cond, b: _Cond) -> _Cond:
    if isinstance(a, _False):
        return b
    if isinstance(b, _False):
        return a
    if isinstance(a, VTrue) or isinstance(b, VTrue):
        return V_TRUE
    items = (a.items if isinstance(a, VOr) else (a,)) + (b.items if isinstance(b, VOr) else (b,))
    return VOr(items)


def _constraint_version(v: ast.Value, env: FilterEnv) -> OpamVersion | _False | None:
    """The version of ``{op v}``: a version, ``None`` (constraint ignored) or ``_FALSE``.

    opam reads the version of a constraint as a string or an identifier. An identifier it cannot
    resolve removes the atom (opam >= 2.2 ``filter_undefined``; opam 2.1 ignored the constraint
    instead), and a bool reads as ``"true"``/``"false"``. A value that is not a valid version
    (an interpolation expanding to ``""``, say) makes opam ignore the constraint
    (``filter_constraints``: "ignoring version constraint").
    """
    if isinstance(v, ast.Ident):
        s = eval_filter(v, env)
        if s is None:
            return _FALSE
    elif isinstance(v, ast.String):
        s = expand_string(v.value, env)
    else:
        s = eval_filter(v, env)
        if s is None:
            return _FALSE
    if isinstance(s, bool):
        s = "true" if s else "false"
    try:
        return OpamVersion.parse(s)
    except InvalidVersion:
        return None


def _eval_cond(v: ast.Value, env: FilterEnv, negate: bool) -> _Cond:
    """opam's ``filtered_constraints`` reading, evaluated: ``&``/``|``/``!``/``( )`` are formula
    structure (``!`` is pushed to the leaves, swapping ``&`` and ``|``); every other value is a
    filter leaf, evaluated on its own with undefined meaning false (``filter_deps ~default:false``)."""
    if isinstance(v, ast.PrefixRelop):
        ver = _constraint_version(v.value, env)
        if isinstance(ver, _False):
            return _FALSE
        if ver is None:
            return V_TRUE
        return VConstraint(_NEGATE[v.op] if negate else v.op, ver)
    if isinstance(v, ast.Logop):
        left = _eval_cond(v.left, env, negate)
        right = _eval_cond(v.right, env, negate)
        conj = (v.op == "&") != negate
        return _cand(left, right) if conj else _cor(left, right)
    if isinstance(v, ast.Pfxop) and v.op == "!":
        return _eval_cond(v.value, env, not negate)
    if isinstance(v, ast.Group):
        # Juxtaposed items are a conjunction; under negation, De Morgan makes it a disjunction.
        acc: _Cond = _FALSE if negate else V_TRUE
        for it in v.items:
            sub = _eval_cond(it, env, negate)
            acc = _cor(acc, sub) if negate else _cand(acc, sub)
        return acc if v.items else V_TRUE
    b = to_bool(eval_filter(v, env))
    if b is None:
        return _FALSE
    return V_TRUE if b != negate else _FALSE


def _idents(v: ast.Value, out: set[str]) -> None:
    if isinstance(v, ast.Ident):
        out.add(v.name)
    elif isinstance(v, ast.Logop | ast.Relop):
        _idents(v.left, out)
        _idents(v.right, out)
    elif isinstance(v, ast.Pfxop | ast.PrefixRelop):
        _idents(v.value, out)
    elif isinstance(v, ast.Group):
        for i in v.items:
            _idents(i, out)


def _kind_of(args: tuple[ast.Value, ...]) -> Kind:
    names: set[str] = set()
    for a in args:
        _idents(a, names)
    if "with-test" in names:
        return "test"
    if "with-doc" in names:
        return "doc"
    if "with-dev-setup" in names or "dev" in names:
        return "dev"
    if "build" in names:
        return "build"
    if "post" in names:
        return "post"
    return "runtime"


# --------------------------------------------------------------------------------------------
# Evaluated package formulas


@dataclass(frozen=True, slots=True)
class Atom:
    """``name`` constrained by ``vf``; ``kind`` says which filter flag brought it in."""

    name: str
    vf: VersionFormula = V_TRUE
    kind: Kind = "runtime"

    def matches(self, version: OpamVersion) -> bool:
        return vmatch(self.vf, version)

    def __str__(self) -> str:
        c = str(self.vf)
        return f"{self.name} {{{c}}}" if c else self.name


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Resolved, ...]

    def __str__(self) -> str:
        return " & ".join(f"({i})" if isinstance(i, Or) else str(i) for i in self.items)


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Resolved, ...]

    def __str__(self) -> str:
        return " | ".join(f"({i})" if isinstance(i, And) else str(i) for i in self.items)


Resolved: TypeAlias = Atom | And | Or


def _mk(cls: type[And] | type[Or], items: list[Resolved | None]) -> Resolved | None:
    kept: list[Resolved] = []
    for i in items:
        if i is None:
            continue
        if isinstance(i, cls):
            kept.extend(i.items)
        else:
            kept.append(i)
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return cls(tuple(kept))


def atoms_of(f: Resolved | None) -> Iterator[Atom]:
    if f is None:
        return
    if isinstance(f, Atom):
        yield f
    else:
        for i in f.items:
            yield from atoms_of(i)


# --------------------------------------------------------------------------------------------
# Unevaluated formulas, as written in the opam file


@dataclass(frozen=True, slots=True)
class _FAtom:
    name: str
    args: tuple[ast.Value, ...]
    kind: Kind


@dataclass(frozen=True, slots=True)
class _FNode:
    conj: bool
    items: tuple[_FAtom | _FNode, ...]


class Formula:
    """A package formula as written, ready to be resolved against any environment."""

    __slots__ = ("_root",)

    def __init__(self, root: _FNode) -> None:
        self._root = root

    def resolve(self, env: FilterEnv) -> Resolved | None:
        """Evaluate filters and constraints; ``None`` means nothing is required (Empty)."""
        return _resolve(self._root, env)

    def names(self) -> frozenset[str]:
        """Every package name mentioned, whatever the filters say (for static analyses)."""
        out: set[str] = set()
        stack: list[_FAtom | _FNode] = [self._root]
        while stack:
            n = stack.pop()
            if isinstance(n, _FAtom):
                out.add(n.name)
            else:
                stack.extend(n.items)
        return frozenset(out)

    def is_empty(self) -> bool:
        return not self._root.items


def _resolve(n: _FAtom | _FNode, env: FilterEnv) -> Resolved | None:
    if isinstance(n, _FAtom):
        cond: _Cond = V_TRUE
        for a in n.args:
            cond = _cand(cond, _eval_cond(a, env, False))
            if isinstance(cond, _False):
                return None
        assert not isinstance(cond, _False)
        return Atom(n.name, cond, n.kind)
    parts = [_resolve(i, env) for i in n.items]
    return _mk(And if n.conj else Or, parts)


def formula_of_value(v: ast.Value | None, *, disjunction: bool, filename: str = "<string>") -> Formula:
    """Read a ``depends``-like field; ``disjunction`` is true for ``conflicts``, whose list is an or."""
    if v is None:
        return Formula(_FNode(not disjunction, ()))
    return Formula(_convert(v, not disjunction, filename))


def _convert(v: ast.Value, conj: bool, filename: str) -> _FNode:
    if isinstance(v, ast.List | ast.Group):
        items = tuple(_convert_item(i, conj, filename) for i in v.items)
        return _FNode(conj, items)
    return _FNode(conj, (_convert_item(v, conj, filename),))


def _convert_item(v: ast.Value, conj: bool, filename: str) -> _FAtom | _FNode:
    if isinstance(v, ast.String):
        return _FAtom(v.value, (), "runtime")
    if isinstance(v, ast.Option) and isinstance(v.value, ast.String):
        args = tuple(v.args)
        return _FAtom(v.value.value, args, _kind_of(args))
    if isinstance(v, ast.Option) and isinstance(v.value, ast.Group):
        # `("a" | "b") {build}` is not valid opam; treat the option as applying to each atom.
        inner = _convert(v.value, conj, filename)
        return _FNode(inner.conj, tuple(_with_args(i, tuple(v.args)) for i in inner.items))
    if isinstance(v, ast.Logop):
        return _FNode(
            v.op == "&", (_convert_item(v.left, conj, filename), _convert_item(v.right, conj, filename))
        )
    if isinstance(v, ast.Group):
        return _convert(v, conj, filename)
    line, col = v.pos
    raise InvalidFormula(
        f"{filename}:{line}:{col}: expected a package name (a quoted string) in a package formula",
        hint='write dependencies as "name" {constraint}, e.g. "dune" {>= "3.0"}',
    )


def _with_args(n: _FAtom | _FNode, args: tuple[ast.Value, ...]) -> _FAtom | _FNode:
    if isinstance(n, _FAtom):
        full = n.args + args
        return _FAtom(n.name, full, _kind_of(full))
    return _FNode(n.conj, tuple(_with_args(i, args) for i in n.items))


# --------------------------------------------------------------------------------------------
# Command-line atoms

_ATOM = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_+\-]*)(?:(=|!=|>=|<=|>|<)(.+)|\.([A-Za-z0-9_+.~\-]+))?$")


def parse_atom(s: str) -> Atom:
    """Read an atom as opam's command line does: ``name``, ``name.1.2``, ``name>=1.2``, ``name!=3``."""
    text = s.strip()
    m = _ATOM.match(text)
    if not m:
        raise InvalidAtom(
            f"invalid package atom {s!r}",
            hint="use NAME, NAME.VERSION or NAME followed by one of = != < <= > >= and a version",
        )
    name, op, ver, dotted = m.groups()
    if not any(c.isascii() and c.isalpha() for c in name):
        raise InvalidAtom(
            f"invalid package name in atom {s!r}: a package name contains at least one letter",
            hint="use NAME, NAME.VERSION or NAME followed by one of = != < <= > >= and a version",
        )
    if dotted is not None:
        op, ver = "=", dotted
    if op is None:
        return Atom(name)
    try:
        version = OpamVersion.parse(ver)
    except InvalidVersion as e:
        raise InvalidAtom(f"invalid version in package atom {s!r}: {e.message}", hint=e.hint) from e
    return Atom(name, VConstraint(op, version))
