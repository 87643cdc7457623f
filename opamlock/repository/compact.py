"""A compact, marshal-friendly encoding of the opam syntax tree, for the on-disk index.

The index cache must make a second load of ~19,000 packages near-instant, and ``list`` must not
build a single syntax tree. So each opam file is stored as nested tuples of plain values
(``marshal`` reads those about ten times faster than ``pickle`` reads dataclasses), and the tree
is rebuilt only when a package is asked for, and then field by field (:class:`LazyOpamFile`).

Each node is ``(tag | col << 4, fields…, line)``: a small-int tag in the low four bits of the
first element, the column above it, the line last. Packing the tag with the column keeps the
encoding exact for any position (Python ints are unbounded; marshal writes larger ones in a
longer form) while shrinking the index by about a fifth against separate ints. A file is the tuple
of its items. Positions are kept, because error messages about a package point into its opam file.

A repository load does not build syntax trees at all: :func:`parse` runs the opam parser with
builders that make this encoding directly (:data:`NODES`).
"""

from __future__ import annotations

import gc
import marshal
from collections.abc import Callable
from typing import Any, TypeAlias

from opamlock.errors import OpamlockError
from opamlock.opamfile import Nodes, ast, parse_with

__all__ = [
    "NODES", "CompactError", "LazyOpamFile", "decode", "dumps", "encode", "loads", "loads_lazy", "parse",
]

Compact: TypeAlias = tuple[Any, ...]

# Tags (part of the cache format: changing them requires bumping index.CACHE_FORMAT).
_BOOL, _INT, _STRING, _IDENT, _RELOP, _PRELOP, _LOGOP, _PFXOP = range(8)
_LIST, _GROUP, _OPTION, _ENV, _VARIABLE, _SECTION = range(8, 14)


class CompactError(OpamlockError, ValueError):
    """The bytes are not a compact tree (a corrupt or foreign cache entry).

    An :class:`~opamlock.errors.OpamlockError` because a lazily decoded tree can meet the damage
    long after loading, anywhere a field is read; the user then gets a message, not a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="opamlock's index cache is damaged; run the command again "
                                       "to rebuild it")


# -- encoding a tree --------------------------------------------------------------------------


def _values(vs: list[ast.Value]) -> tuple[Compact, ...]:
    return tuple([_ENCODERS[type(v)](v) for v in vs])


_ENCODERS: dict[type, Callable[[Any], Compact]] = {
    ast.Bool: lambda n: (n.pos[1] << 4 | _BOOL, n.value, n.pos[0]),
    ast.Int: lambda n: (n.pos[1] << 4 | _INT, n.value, n.pos[0]),
    ast.String: lambda n: (n.pos[1] << 4 | _STRING, n.value, n.pos[0]),
    ast.Ident: lambda n: (n.pos[1] << 4 | _IDENT, n.name, n.pos[0]),
    ast.Relop: lambda n: (n.pos[1] << 4 | _RELOP, n.op, _enc(n.left), _enc(n.right), n.pos[0]),
    ast.PrefixRelop: lambda n: (n.pos[1] << 4 | _PRELOP, n.op, _enc(n.value), n.pos[0]),
    ast.Logop: lambda n: (n.pos[1] << 4 | _LOGOP, n.op, _enc(n.left), _enc(n.right), n.pos[0]),
    ast.Pfxop: lambda n: (n.pos[1] << 4 | _PFXOP, n.op, _enc(n.value), n.pos[0]),
    ast.List: lambda n: (n.pos[1] << 4 | _LIST, _values(n.items), n.pos[0]),
    ast.Group: lambda n: (n.pos[1] << 4 | _GROUP, _values(n.items), n.pos[0]),
    ast.Option: lambda n: (n.pos[1] << 4 | _OPTION, _enc(n.value), _values(n.args), n.pos[0]),
    ast.EnvBinding: lambda n: (n.pos[1] << 4 | _ENV, n.op, _enc(n.left), _enc(n.right), n.pos[0]),
    ast.Variable: lambda n: (n.pos[1] << 4 | _VARIABLE, n.name, _enc(n.value), n.pos[0]),
    ast.Section: lambda n: (n.pos[1] << 4 | _SECTION, n.kind, n.name, tuple([_enc(i) for i in n.items]),
                            n.pos[0]),
}


def _enc(node: Any) -> Compact:
    return _ENCODERS[type(node)](node)


def encode(f: ast.OpamFile) -> Compact:
    """The compact form of a whole file (its filename is not part of it)."""
    return tuple([_ENCODERS[type(it)](it) for it in f.items])


def dumps(f: ast.OpamFile) -> bytes:
    return marshal.dumps(encode(f))


# -- parsing straight to the encoding ---------------------------------------------------------

Pos: TypeAlias = tuple[int, int]


def _item_info(t: Compact) -> tuple[str | None, str | None, Pos]:
    pos = (t[-1], t[0] >> 4)
    if t[0] & 15 == _VARIABLE:
        v = t[2]
        return t[1], v[1] if v[0] & 15 == _STRING else None, pos
    return None, None, pos


#: Builders for :func:`opamlock.opamfile.parse_with` that make the compact encoding directly.
NODES = Nodes(
    Bool=lambda v, p: (p[1] << 4 | _BOOL, v, p[0]),
    Int=lambda v, p: (p[1] << 4 | _INT, v, p[0]),
    String=lambda v, p: (p[1] << 4 | _STRING, v, p[0]),
    Ident=lambda v, p: (p[1] << 4 | _IDENT, v, p[0]),
    Relop=lambda op, left, right, p: (p[1] << 4 | _RELOP, op, left, right, p[0]),
    PrefixRelop=lambda op, v, p: (p[1] << 4 | _PRELOP, op, v, p[0]),
    Logop=lambda op, left, right, p: (p[1] << 4 | _LOGOP, op, left, right, p[0]),
    Pfxop=lambda op, v, p: (p[1] << 4 | _PFXOP, op, v, p[0]),
    List=lambda items, p: (p[1] << 4 | _LIST, tuple(items), p[0]),
    Group=lambda items, p: (p[1] << 4 | _GROUP, tuple(items), p[0]),
    Option=lambda v, args, p: (p[1] << 4 | _OPTION, v, tuple(args), p[0]),
    EnvBinding=lambda op, left, right, p: (p[1] << 4 | _ENV, op, left, right, p[0]),
    Variable=lambda name, v, p: (p[1] << 4 | _VARIABLE, name, v, p[0]),
    Section=lambda kind, name, items, p: (p[1] << 4 | _SECTION, kind, name, tuple(items), p[0]),
    pos_of=lambda t: (t[-1], t[0] >> 4),
    item_info=_item_info,
)


def parse(text: str | bytes, filename: str = "<string>") -> Compact:
    """``encode(opamfile.parse(text, filename))``, without building the tree in between.

    Raises :class:`~opamlock.opamfile.OpamSyntaxError` exactly where :func:`opamfile.parse` would.
    """
    return tuple(parse_with(text, filename, NODES))


# -- decoding ---------------------------------------------------------------------------------


def _vals(ts: tuple[Compact, ...]) -> list[Any]:
    return [_DECODERS[t[0] & 15](t) for t in ts]


def _dec(t: Compact) -> Any:
    return _DECODERS[t[0] & 15](t)


_DECODERS: list[Callable[[Compact], Any]] = [
    lambda t: ast.Bool(t[1], (t[2], t[0] >> 4)),
    lambda t: ast.Int(t[1], (t[2], t[0] >> 4)),
    lambda t: ast.String(t[1], (t[2], t[0] >> 4)),
    lambda t: ast.Ident(t[1], (t[2], t[0] >> 4)),
    lambda t: ast.Relop(t[1], _dec(t[2]), _dec(t[3]), (t[4], t[0] >> 4)),
    lambda t: ast.PrefixRelop(t[1], _dec(t[2]), (t[3], t[0] >> 4)),
    lambda t: ast.Logop(t[1], _dec(t[2]), _dec(t[3]), (t[4], t[0] >> 4)),
    lambda t: ast.Pfxop(t[1], _dec(t[2]), (t[3], t[0] >> 4)),
    lambda t: ast.List(_vals(t[1]), (t[2], t[0] >> 4)),
    lambda t: ast.Group(_vals(t[1]), (t[2], t[0] >> 4)),
    lambda t: ast.Option(_dec(t[1]), _vals(t[2]), (t[3], t[0] >> 4)),
    lambda t: ast.EnvBinding(t[1], _dec(t[2]), _dec(t[3]), (t[4], t[0] >> 4)),
    lambda t: ast.Variable(t[1], _dec(t[2]), (t[3], t[0] >> 4)),
    lambda t: ast.Section(t[1], t[2], _vals(t[3]), (t[4], t[0] >> 4)),
]
_DECODERS += [lambda t: _bad_tag(t)] * (16 - len(_DECODERS))


def _bad_tag(t: Compact) -> Any:
    raise KeyError(f"tag {t[0] & 15}")


def _items(c: Compact) -> list[ast.Item]:
    try:
        out = [_DECODERS[t[0] & 15](t) for t in c]
    except (IndexError, TypeError, KeyError) as e:
        raise CompactError(f"not a compact opam tree: {e}") from e
    if not all(isinstance(i, ast.Variable | ast.Section) for i in out):
        raise CompactError("not a compact opam tree: a top-level node is not a field or section")
    return out


def decode(c: Compact, filename: str = "<string>") -> ast.OpamFile:
    """Rebuild the syntax tree; raises :class:`CompactError` on anything that is not an encoding."""
    return ast.OpamFile(_items(c), filename)


def _unmarshal(data: bytes | memoryview) -> Compact:
    try:
        c = marshal.loads(data)
    except (EOFError, ValueError, TypeError) as e:
        raise CompactError(f"not a compact opam tree: {e}") from e
    if not isinstance(c, tuple) or not all(
        isinstance(t, tuple) and len(t) >= 4 and isinstance(t[0], int) and isinstance(t[1], str) for t in c
    ):
        raise CompactError("not a compact opam tree: top level is not a tuple of items")
    return c


def _gc_paused(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` with the cyclic collector paused, as :func:`opamlock.opamfile.parse` pauses it:
    the tuples and nodes made here are acyclic, and once thousands of trees are alive (an audit, a
    solve over a whole repository) the collector's passes over them cost ten times the decoding."""
    if not gc.isenabled():
        return fn(*args)
    gc.disable()
    try:
        return fn(*args)
    finally:
        gc.enable()


def loads(data: bytes | memoryview, filename: str = "<string>") -> ast.OpamFile:
    """Rebuild a whole tree from :func:`dumps` bytes."""
    return _gc_paused(lambda: decode(_unmarshal(data), filename))  # type: ignore[no-any-return]


def loads_lazy(data: bytes | memoryview, filename: str = "<string>") -> LazyOpamFile:
    """A tree from :func:`dumps` bytes whose fields are decoded only when read."""
    return LazyOpamFile(_gc_paused(_unmarshal, data), filename)


# -- lazily decoded files ---------------------------------------------------------------------

_ITEMS_SLOT: Any = ast.OpamFile.__dict__["items"]  # the base class's slot, behind our property


class LazyOpamFile(ast.OpamFile):
    """An :class:`~opamlock.opamfile.ast.OpamFile` that decodes a field when it is first read.

    Most consumers read a handful of fields (``depends``, ``available``, ``flags``…) of many
    packages: an audit of a whole repository reads ~19,000 files, and decoding each one whole made
    up most of its time. ``field`` and ``sections`` decode only what they return; anything else
    (``items``, equality, printing) decodes the whole file once. It compares equal to the plain
    tree it encodes, and pickles as one.
    """

    __slots__ = ("_compact", "_fields")

    def __init__(self, c: Compact, filename: str = "<string>") -> None:
        self._compact: Compact | None = c
        self._fields: dict[str, ast.Value | None] = {}
        self.filename = filename

    @property  # type: ignore[override]
    def items(self) -> list[ast.Item]:
        c = self._compact
        if c is not None:
            _ITEMS_SLOT.__set__(self, _gc_paused(_items, c))
            self._compact = None
        return _ITEMS_SLOT.__get__(self)  # type: ignore[no-any-return]

    @items.setter
    def items(self, value: list[ast.Item]) -> None:
        _ITEMS_SLOT.__set__(self, value)
        self._compact = None

    def field(self, name: str) -> ast.Value | None:
        c = self._compact
        if c is None:
            return super().field(name)
        try:
            return self._fields[name]
        except KeyError:
            pass
        found: Compact | None = None
        for t in c:  # opam keeps the last when a field repeats
            if t[1] == name and t[0] & 15 == _VARIABLE:
                found = t[2]
        value = None if found is None else _decode_value(found)
        self._fields[name] = value
        return value

    def sections(self, kind: str) -> list[ast.Section]:
        c = self._compact
        if c is None:
            return super().sections(kind)
        return [_decode_value(t) for t in c if t[1] == kind and t[0] & 15 == _SECTION]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ast.OpamFile):
            return self.items == other.items
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as the base class: a mutable list inside

    def __repr__(self) -> str:
        return f"OpamFile(items={self.items!r}, filename={self.filename!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return ast.OpamFile, (self.items, self.filename)


def _decode_value(t: Compact) -> Any:
    try:
        return _gc_paused(_dec, t)
    except (IndexError, TypeError, KeyError) as e:
        raise CompactError(f"not a compact opam tree: {e}") from e
