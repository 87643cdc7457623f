"""The opam file syntax tree, mirroring opam-file-format's ``OpamParserTypes.FullPos``.

Every node carries ``pos`` = (line, column), both 1-based, of its first character. Positions
take no part in equality, so ``parse(print(tree)) == tree`` is the round-trip law.

Nodes are slotted dataclasses that are never mutated after parsing. They are not declared
``frozen``: frozen dataclasses construct about 3.5x slower, and the parser builds millions of
nodes on a full repository load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

Pos: TypeAlias = tuple[int, int]
NOPOS: Pos = (0, 0)

RelOp = Literal["=", "!=", "<", "<=", ">", ">="]
LogOp = Literal["&", "|"]
PfxOp = Literal["!", "?"]
EnvOp = Literal["=", "+=", "=+", "=+=", ":=", "=:"]

RELOPS: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=")
ENVOPS: tuple[str, ...] = ("=", "+=", "=+", "=+=", ":=", "=:")


@dataclass(slots=True)
class Bool:
    value: bool
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class Int:
    value: int
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class String:
    value: str
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class Ident:
    """A variable or package-variable reference: ``os``, ``foo:installed``, ``a+b:enable``, ``_:version``."""

    name: str
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class Relop:
    op: RelOp
    left: Value
    right: Value
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class PrefixRelop:
    """A relational operator missing its left side, as in ``{>= "1.0"}``."""

    op: RelOp
    value: Value
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class Logop:
    op: LogOp
    left: Value
    right: Value
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class Pfxop:
    op: PfxOp
    value: Value
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class List:
    items: list[Value]
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class Group:
    """A parenthesised sequence ``( … )``."""

    items: list[Value]
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class Option:
    """``value {args…}``: a value carrying filters or constraints."""

    value: Value
    args: list[Value]
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class EnvBinding:
    """``[VAR += "x"]`` inside ``setenv``/``build-env``."""

    op: EnvOp
    left: Value
    right: Value
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


Value: TypeAlias = (
    Bool | Int | String | Ident | Relop | PrefixRelop | Logop | Pfxop | List | Group | Option | EnvBinding
)


@dataclass(slots=True)
class Variable:
    """A field ``name: value``."""

    name: str
    value: Value
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


@dataclass(slots=True)
class Section:
    """``kind name? { items }``, e.g. ``url { … }`` or ``extra-source "f" { … }``."""

    kind: str
    name: str | None
    items: list[Item]
    pos: Pos = field(default=NOPOS, compare=False, repr=False)


Item: TypeAlias = Variable | Section


@dataclass(slots=True)
class OpamFile:
    items: list[Item]
    filename: str = field(default="<string>", compare=False)

    def field(self, name: str) -> Value | None:
        """The value of top-level field ``name``; opam keeps the last when a field repeats."""
        found: Value | None = None
        for it in self.items:
            if isinstance(it, Variable) and it.name == name:
                found = it.value
        return found

    def sections(self, kind: str) -> list[Section]:
        return [it for it in self.items if isinstance(it, Section) and it.kind == kind]
