"""Print opam syntax trees back as opam text, in the layout opam files usually have.

The law: for every tree ``t`` that :func:`~opamlock.opamfile.parse` can produce,
``parse(print_file(t)) == t``. Trees the parser cannot produce are printed so that they keep
their meaning: an operand that binds too loosely for its place (``a | (b | c)``, ``!(a & b)``,
``(a & b) {x}``) is parenthesised, which reparses as a :class:`Group` around it. Relational and
environment operators take atoms only, as in the grammar; other operands raise ``ValueError``.
An :class:`EnvBinding` with ``=`` prints as ``a = b``, which opam reads as a :class:`Relop`
(opam's own lexer never produces ``=`` as an environment operator).
"""

from __future__ import annotations

import re
from typing import Final

from opamlock.opamfile.ast import (
    Bool,
    EnvBinding,
    Group,
    Ident,
    Int,
    Item,
    List,
    Logop,
    OpamFile,
    Option,
    Pfxop,
    PrefixRelop,
    Relop,
    Section,
    String,
    Value,
    Variable,
)

__all__ = ["print_file", "print_value", "quote"]

# Binding strength of a printed value: an operand weaker than its place needs parentheses.
_OR, _AND, _PREFIX, _POSTFIX, _PRIMARY = range(5)
_WIDTH: Final = 80
_INDENT: Final = "  "
_ATOM_TYPES: Final = (String, Ident, Int, Bool)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_TRIPLE_QUOTE_HAZARD = re.compile(r'"(?=""|\Z)')


def quote(s: str, *, triple: bool = False) -> str:
    """``s`` as an opam string literal that reads back as exactly ``s``."""
    body = s.replace("\\", "\\\\")
    if "\r" in body:
        body = body.replace("\r", "\\r")
    if _CONTROL.search(body):
        body = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", body)
    if triple:
        return '"""' + _TRIPLE_QUOTE_HAZARD.sub('\\\\"', body) + '"""'
    return '"' + body.replace('"', '\\"') + '"'


def _atom(v: Value) -> str:
    if isinstance(v, String):
        return quote(v.value)
    if isinstance(v, Ident):
        return v.name
    if isinstance(v, Bool):
        return "true" if v.value else "false"
    if isinstance(v, Int):
        return str(v.value)
    raise ValueError(f"an operator operand must be a string, identifier, integer or boolean, not {v!r}")


def _ends_with_bare_atom(v: Value) -> bool:
    """Whether ``v`` prints ending in an atom that a following operator would capture."""
    while True:
        if isinstance(v, _ATOM_TYPES):
            return True
        if isinstance(v, Logop):
            v = v.right
        elif isinstance(v, Pfxop):
            v = v.value
        else:
            return False


def _starts_with_relop(v: Value) -> bool:
    while True:
        if isinstance(v, PrefixRelop):
            return True
        if isinstance(v, Logop):
            v = v.left
        elif isinstance(v, Option):
            v = v.value
        else:
            return False


def _seq(vs: list[Value]) -> str:
    parts: list[str] = []
    prev: Value | None = None
    for v in vs:
        text = _fmt(v, _OR)
        if prev is not None and _ends_with_bare_atom(prev) and _starts_with_relop(v):
            text = f"({text})"  # else ``a >= "1"`` would read back as one comparison
        parts.append(text)
        prev = v
    return " ".join(parts)


def _fmt(v: Value, need: int) -> str:
    if isinstance(v, String):
        return quote(v.value)
    if isinstance(v, Ident):
        return v.name
    if isinstance(v, Option):
        text, level = f"{_fmt(v.value, _POSTFIX)} {{{_seq(v.args)}}}", _POSTFIX
    elif isinstance(v, List):
        text, level = f"[{_seq(v.items)}]", _PRIMARY
    elif isinstance(v, Logop):
        if v.op == "|":
            text, level = f"{_fmt(v.left, _OR)} | {_fmt(v.right, _AND)}", _OR
        else:
            text, level = f"{_fmt(v.left, _AND)} & {_fmt(v.right, _PREFIX)}", _AND
    elif isinstance(v, PrefixRelop):
        text, level = f"{v.op} {_atom(v.value)}", _PRIMARY
    elif isinstance(v, Relop | EnvBinding):
        text, level = f"{_atom(v.left)} {v.op} {_atom(v.right)}", _PRIMARY
    elif isinstance(v, Pfxop):
        operand = _fmt(v.value, _PREFIX)
        sep = " " if v.op == "!" and operand.startswith("=") else ""  # not ``!=``
        text, level = f"{v.op}{sep}{operand}", _PREFIX
    elif isinstance(v, Group):
        text, level = f"({_seq(v.items)})", _PRIMARY
    elif isinstance(v, Bool | Int):
        text, level = _atom(v), _PRIMARY
    else:
        raise TypeError(f"not an opam value: {v!r}")
    return f"({text})" if level < need else text


def print_value(v: Value) -> str:
    """A value on one line, as it would appear inside a list."""
    return _fmt(v, _OR)


def _field_value(v: Value, indent: str) -> str:
    """A field's value: long or nested lists one element per line, multi-line strings in triple quotes."""
    if isinstance(v, String) and "\n" in v.value:
        return quote(v.value, triple=True)
    if isinstance(v, List) and v.items:
        flat = print_value(v)
        simple = all(isinstance(x, String | Ident) for x in v.items)
        if simple and len(flat) + len(indent) < _WIDTH and "\n" not in flat:
            return flat
        inner = indent + _INDENT
        lines = ["["]
        prev: Value | None = None
        for x in v.items:
            text = print_value(x)
            if prev is not None and _ends_with_bare_atom(prev) and _starts_with_relop(x):
                text = f"({text})"
            lines.append(inner + text)
            prev = x
        lines.append(indent + "]")
        return "\n".join(lines)
    return print_value(v)


def _items(items: list[Item], indent: str, out: list[str]) -> None:
    for it in items:
        if isinstance(it, Variable):
            out.append(f"{indent}{it.name}: {_field_value(it.value, indent)}\n")
        elif isinstance(it, Section):
            name = "" if it.name is None else " " + quote(it.name)
            out.append(f"{indent}{it.kind}{name} {{\n")
            _items(it.items, indent + _INDENT, out)
            out.append(f"{indent}}}\n")
        else:
            raise TypeError(f"not an opam item: {it!r}")


def print_file(f: OpamFile) -> str:
    """The whole file, one field per line, sections indented, ending with a newline."""
    out: list[str] = []
    _items(f.items, "", out)
    return "".join(out)
