"""The opam file format: parse, print and dump opam files.

``parse`` accepts and rejects exactly what opam-file-format 2.1 (the parser inside opam) does,
builds the same tree, and adds two deliberate rejections of its own: text that is not UTF-8, and
nesting deeper than :data:`~opamlock.opamfile._parser.MAX_DEPTH`. Every rejection is an
:class:`OpamSyntaxError` carrying file, line, column and the source line; nothing else escapes.
(Checked: identical output to the reference on every opam file of both opam-repository
snapshots and of opam-overlays, and on thousands of random and mutated snippets.)

Like the reference, a repeated field stays in the tree twice (:meth:`OpamFile.field` returns the
last), and a file that declares a newer ``opam-version`` than 2.1 and then fails to parse comes
back as that field plus a section named ``#``, which is how opam recognises such files.

>>> f = parse('opam-version: "2.0"\\ndepends: ["ocaml" {>= "4.08"}]\\n')
>>> f.field("depends")
List(items=[Option(value=String(value='ocaml'), args=[PrefixRelop(op='>=', value=String(value='4.08'))])])
>>> print(print_file(f), end="")
opam-version: "2.0"
depends: [
  "ocaml" {>= "4.08"}
]
"""

from __future__ import annotations

import gc
import os
from typing import Any

from opamlock.opamfile import _lexer, _parser
from opamlock.opamfile._lexer import OpamSyntaxError
from opamlock.opamfile._parser import AST_NODES, Nodes
from opamlock.opamfile.ast import OpamFile
from opamlock.opamfile.jsonout import error_json, to_json
from opamlock.opamfile.printer import print_file, print_value

__all__ = [
    "Nodes",
    "OpamSyntaxError",
    "error_json",
    "parse",
    "parse_file",
    "parse_with",
    "print_file",
    "print_value",
    "to_json",
]


def parse(text: str | bytes, filename: str = "<string>") -> OpamFile:
    """Parse the text of an opam file (bytes must be UTF-8); raise :class:`OpamSyntaxError`.

    The cyclic garbage collector is paused meanwhile: a parse allocates only acyclic nodes, and
    with many trees alive the collector's passes over them cost more than the parse itself.
    """
    return OpamFile(parse_with(text, filename, AST_NODES), filename)


def parse_with(text: str | bytes, filename: str, nodes: Nodes) -> list[Any]:
    """Parse like :func:`parse`, building the file's items with ``nodes`` instead of the tree classes.

    Same acceptance, same errors; only the representation differs (see :class:`Nodes`).
    """
    if not gc.isenabled():
        return _parse(text, filename, nodes)
    gc.disable()
    try:
        return _parse(text, filename, nodes)
    finally:
        gc.enable()


def _parse(text: str | bytes, filename: str, nodes: Nodes) -> list[Any]:
    if not isinstance(text, str):
        data = bytes(text)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _not_utf8(data, filename, e.start) from None
    elif not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:  # lone surrogates, e.g. from a surrogateescape decode
            err = _lexer.error_at(text, filename, e.start, f"character U+{ord(text[e.start]):04X} is a lone "
                                  "surrogate, not text", hint="opamlock reads opam files as UTF-8")
            err.opamlock_only = True  # type: ignore[attr-defined]
            err.source_line = (err.source_line or "").encode("utf-8", "replace").decode("utf-8")
            raise err from None
    try:
        kinds, vals, poss = _lexer.tokenize(text, filename)
    except OpamSyntaxError as e:
        # The reference reads three tokens before choosing whether to trap errors.
        partial = getattr(e, "partial", None)
        if partial is not None and not getattr(e, "opamlock_only", False):
            header = _parser.header_version(partial[0], partial[1])
            if header is not None and _parser.nopatch(header) > _parser.LIBRARY_VERSION:
                return _future_file(header, partial[2], (e.line, e.col), nodes)
        raise
    header = _parser.header_version(kinds, vals)

    def fail(pos: tuple[int, int], message: str, hint: str | None) -> OpamSyntaxError:
        return _lexer.error_at_pos(text, filename, pos, message, hint)

    try:
        items = _parser.parse_tokens(kinds, vals, poss, fail, nodes)
    except OpamSyntaxError as e:
        if header is not None and not getattr(e, "opamlock_only", False) \
                and _parser.nopatch(header) > _parser.LIBRARY_VERSION:
            return _future_file(header, poss, (e.line, e.col), nodes)
        raise
    if _parser.opam_version_is_first_only(kinds, vals):
        return items
    bad = _parser.check_opam_version(items, header, nodes)
    if bad is not None:
        _, pos, message = bad
        raise fail(pos, message, "opam-version belongs once, on the first line")
    return items


def _future_file(header: str, poss: list[tuple[int, int]], where: tuple[int, int], nodes: Nodes) -> list[Any]:
    """What the reference returns for a broken file declaring a newer format than it knows.

    It keeps the ``opam-version`` field and appends a section named ``#`` (which no file can
    spell) so that its caller sees the file is unreadable rather than merely failing.
    """
    version = nodes.Variable("opam-version", nodes.String(header, poss[2]), poss[0])
    return [version, nodes.Section("#", None, [], where)]


def _not_utf8(data: bytes, filename: str, at: int) -> OpamSyntaxError:
    bol = data.rfind(b"\n", 0, at) + 1
    eol = data.find(b"\n", at)
    line_bytes = data[bol : eol if eol >= 0 else len(data)]
    col = len(data[bol:at].decode("utf-8", "replace")) + 1
    e = OpamSyntaxError(
        f"byte 0x{data[at]:02x} is not valid UTF-8",
        filename=filename,
        line=data.count(b"\n", 0, at) + 1,
        col=col,
        source_line=line_bytes.decode("utf-8", "replace"),
        hint="opamlock reads opam files as UTF-8 (opam itself accepts any bytes)",
    )
    e.opamlock_only = True  # type: ignore[attr-defined]
    return e


def parse_file(path: str | os.PathLike[str]) -> OpamFile:
    """Parse the opam file at ``path``; the tree's ``filename`` is the path as given."""
    from opamlock.errors import OpamlockError

    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise OpamlockError(f"cannot read {name}: {e.strerror or e}") from e
    return parse(data, name)
