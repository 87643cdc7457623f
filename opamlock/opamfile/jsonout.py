"""One JSON line per opam file, byte for byte what ``../shared/oracles/opam_parse_json.ml`` prints.

That program is the differential oracle: it runs opam-file-format itself, so matching its output
on every file of a repository checks the parser's accept/reject decisions and tree shapes at once.
Its escaping is not standard JSON: only ``"``, ``\\``, ``\\n``, ``\\r``, ``\\t`` and the other
control characters below 0x20 are escaped; every other byte goes out raw. Strings here are UTF-8
``str``, so once encoded as UTF-8 the line has exactly the reference's bytes.
"""

from __future__ import annotations

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

__all__ = ["error_json", "json_string", "to_json"]

_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_NEEDS_ESCAPE = frozenset(chr(c) for c in _ESCAPES)


def json_string(s: str) -> str:
    """``s`` quoted the reference's way."""
    if _NEEDS_ESCAPE.isdisjoint(s):
        return f'"{s}"'
    return '"' + s.translate(_ESCAPES) + '"'


def to_json(f: OpamFile) -> str:
    """The reference line for a file that parsed, without the trailing newline."""
    out: list[str] = ['{"file":', json_string(f.filename), ',"ok":true,"items":[']
    _items(f.items, out)
    out.append("]}")
    return "".join(out)


def error_json(filename: str, message: str) -> str:
    """The reference's shape for a file that did not parse (the message is opamlock's own)."""
    return '{"file":' + json_string(filename) + ',"ok":false,"error":' + json_string(message) + "}"


def _items(items: list[Item], out: list[str]) -> None:
    add = out.append
    first = True
    for it in items:
        if not first:
            add(",")
        first = False
        if isinstance(it, Variable):
            add('{"var":')
            add(json_string(it.name))
            add(',"v":')
            _value(it.value, out)
            add("}")
        else:
            assert isinstance(it, Section)
            add('{"section":')
            add(json_string(it.kind))
            add(',"name":')
            add("null" if it.name is None else json_string(it.name))
            add(',"items":[')
            _items(it.items, out)
            add("]}")


def _values(vs: list[Value], out: list[str]) -> None:
    first = True
    for v in vs:
        if not first:
            out.append(",")
        first = False
        _value(v, out)


def _value(v: Value, out: list[str]) -> None:
    add = out.append
    t = type(v)
    if t is String:
        add('{"str":' + json_string(v.value) + "}")  # type: ignore[union-attr,arg-type]
    elif t is Ident:
        add('{"id":' + json_string(v.name) + "}")  # type: ignore[union-attr]
    elif t is Option:
        assert isinstance(v, Option)
        add('{"opt":')
        _value(v.value, out)
        add(',"args":[')
        _values(v.args, out)
        add("]}")
    elif t is List or t is Group:
        assert isinstance(v, List | Group)
        add('{"list":[' if t is List else '{"group":[')
        _values(v.items, out)
        add("]}")
    elif t is PrefixRelop:
        assert isinstance(v, PrefixRelop)
        add('{"prelop":"' + v.op + '","v":')
        _value(v.value, out)
        add("}")
    elif t is Relop or t is Logop or t is EnvBinding:
        assert isinstance(v, Relop | Logop | EnvBinding)
        key = "relop" if t is Relop else "logop" if t is Logop else "env"
        add('{"' + key + '":"' + v.op + '","l":')
        _value(v.left, out)
        add(',"r":')
        _value(v.right, out)
        add("}")
    elif t is Pfxop:
        assert isinstance(v, Pfxop)
        add('{"pfx":"' + v.op + '","v":')
        _value(v.value, out)
        add("}")
    elif t is Bool:
        add('{"bool":true}' if v.value else '{"bool":false}')  # type: ignore[union-attr]
    elif t is Int:
        add('{"int":' + str(v.value) + "}")  # type: ignore[union-attr]
    else:
        raise TypeError(f"not an opam value: {v!r}")
