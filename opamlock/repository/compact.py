"""A compact, marshal-friendly encoding of the opam syntax tree, for the on-disk index.

The index cache must make a second load of ~19,000 packages near-instant, and ``list`` must not
build a single syntax tree. So each opam file is stored as nested tuples of plain values
(``marshal`` reads those about ten times faster than ``pickle`` reads dataclasses), and the tree
is rebuilt only when a package is asked for.

Each node is ``(tag, fields…, line, col)`` with a small-int tag; a file is the tuple of its items.
Positions are kept, because error messages about a package point into its opam file.
"""

from __future__ import annotations

import gc
import marshal
from collections.abc import Callable
from typing import Any, TypeAlias

from opamlock.opamfile import ast

__all__ = ["CompactError", "decode", "dumps", "encode", "loads"]

Compact: TypeAlias = tuple[Any, ...]

# Tags (part of the cache format: changing them requires bumping index.CACHE_FORMAT).
_BOOL, _INT, _STRING, _IDENT, _RELOP, _PRELOP, _LOGOP, _PFXOP = range(8)
_LIST, _GROUP, _OPTION, _ENV, _VARIABLE, _SECTION = range(8, 14)


class CompactError(ValueError):
    """The bytes are not a compact tree (a corrupt or foreign cache entry)."""


def _values(vs: list[ast.Value]) -> tuple[Compact, ...]:
    return tuple([_ENCODERS[type(v)](v) for v in vs])


_ENCODERS: dict[type, Callable[[Any], Compact]] = {
    ast.Bool: lambda n: (_BOOL, n.value, *n.pos),
    ast.Int: lambda n: (_INT, n.value, *n.pos),
    ast.String: lambda n: (_STRING, n.value, *n.pos),
    ast.Ident: lambda n: (_IDENT, n.name, *n.pos),
    ast.Relop: lambda n: (_RELOP, n.op, _enc(n.left), _enc(n.right), *n.pos),
    ast.PrefixRelop: lambda n: (_PRELOP, n.op, _enc(n.value), *n.pos),
    ast.Logop: lambda n: (_LOGOP, n.op, _enc(n.left), _enc(n.right), *n.pos),
    ast.Pfxop: lambda n: (_PFXOP, n.op, _enc(n.value), *n.pos),
    ast.List: lambda n: (_LIST, _values(n.items), *n.pos),
    ast.Group: lambda n: (_GROUP, _values(n.items), *n.pos),
    ast.Option: lambda n: (_OPTION, _enc(n.value), _values(n.args), *n.pos),
    ast.EnvBinding: lambda n: (_ENV, n.op, _enc(n.left), _enc(n.right), *n.pos),
    ast.Variable: lambda n: (_VARIABLE, n.name, _enc(n.value), *n.pos),
    ast.Section: lambda n: (_SECTION, n.kind, n.name, tuple([_enc(i) for i in n.items]), *n.pos),
}


def _enc(node: Any) -> Compact:
    return _ENCODERS[type(node)](node)


def encode(f: ast.OpamFile) -> Compact:
    """The compact form of a whole file (its filename is not part of it)."""
    return tuple([_ENCODERS[type(it)](it) for it in f.items])


def _vals(ts: tuple[Compact, ...]) -> list[Any]:
    return [_DECODERS[t[0]](t) for t in ts]


def _dec(t: Compact) -> Any:
    return _DECODERS[t[0]](t)


_DECODERS: list[Callable[[Compact], Any]] = [
    lambda t: ast.Bool(t[1], (t[2], t[3])),
    lambda t: ast.Int(t[1], (t[2], t[3])),
    lambda t: ast.String(t[1], (t[2], t[3])),
    lambda t: ast.Ident(t[1], (t[2], t[3])),
    lambda t: ast.Relop(t[1], _dec(t[2]), _dec(t[3]), (t[4], t[5])),
    lambda t: ast.PrefixRelop(t[1], _dec(t[2]), (t[3], t[4])),
    lambda t: ast.Logop(t[1], _dec(t[2]), _dec(t[3]), (t[4], t[5])),
    lambda t: ast.Pfxop(t[1], _dec(t[2]), (t[3], t[4])),
    lambda t: ast.List(_vals(t[1]), (t[2], t[3])),
    lambda t: ast.Group(_vals(t[1]), (t[2], t[3])),
    lambda t: ast.Option(_dec(t[1]), _vals(t[2]), (t[3], t[4])),
    lambda t: ast.EnvBinding(t[1], _dec(t[2]), _dec(t[3]), (t[4], t[5])),
    lambda t: ast.Variable(t[1], _dec(t[2]), (t[3], t[4])),
    lambda t: ast.Section(t[1], t[2], _vals(t[3]), (t[4], t[5])),
]


def decode(c: Compact, filename: str = "<string>") -> ast.OpamFile:
    """Rebuild the syntax tree; raises :class:`CompactError` on anything that is not an encoding."""
    try:
        return ast.OpamFile([_DECODERS[t[0]](t) for t in c], filename)
    except (IndexError, TypeError, KeyError) as e:
        raise CompactError(f"not a compact opam tree: {e}") from e


def dumps(f: ast.OpamFile) -> bytes:
    return marshal.dumps(encode(f))


def loads(data: bytes | memoryview, filename: str = "<string>") -> ast.OpamFile:
    """Rebuild a tree from :func:`dumps` bytes.

    The cyclic collector is paused meanwhile, as :func:`opamlock.opamfile.parse` pauses it: the
    tuples and nodes made here are acyclic, and once thousands of trees are alive (an audit, a
    solve over a whole repository) the collector's passes over them cost ten times the decoding.
    """
    if not gc.isenabled():
        return _loads(data, filename)
    gc.disable()
    try:
        return _loads(data, filename)
    finally:
        gc.enable()


def _loads(data: bytes | memoryview, filename: str) -> ast.OpamFile:
    try:
        c = marshal.loads(data)
    except (EOFError, ValueError, TypeError) as e:
        raise CompactError(f"not a compact opam tree: {e}") from e
    if not isinstance(c, tuple):
        raise CompactError("not a compact opam tree: top level is not a tuple")
    return decode(c, filename)
