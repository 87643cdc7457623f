# ruff: noqa: SIM109  (``k == A or k == B`` on locals is faster than building a tuple per test)
"""The opam file grammar, as opam-file-format's ``opamBaseParser.mly`` (2.1) resolves it.

The reference is an LALR(1) grammar whose ambiguities are settled by precedence declarations.
Worked out by hand, they give this recursive descent (lowest binding first)::

    file    := item* EOF
    item    := IDENT ':' value
             | IDENT '{' item* '}'
             | IDENT STRING '{' item* '}'
    value   := and ('|' and)*                   left-associative
    and     := prefix ('&' prefix)*             left-associative
    prefix  := PFXOP prefix | postfix           '!a {x}' is '!(a {x})'
    postfix := primary ('{' value* '}')*        'a {x} {y}' is '(a {x}) {y}'
    primary := atom RELOP atom                  an atom followed by an operator always takes it
             | atom ENVOP atom
             | atom
             | RELOP atom                       '{>= "1"}'
             | '[' value* ']' | '(' value* ')'
    atom    := IDENT | BOOL | INT | STRING

So ``[a = b = c]`` is ``[(a = b), (= c)]``, and ``[(a) = b]`` is ``[(a), (= b)]``.

Then the reference's file-level rules about ``opam-version`` (see :func:`check_opam_version`).
Nesting deeper than :data:`MAX_DEPTH` is rejected (opam has no limit) so that no later recursive
walk over the tree can exhaust Python's stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from opamlock.opamfile import _lexer as L
from opamlock.opamfile.ast import (
    Bool,
    EnvBinding,
    Group,
    Ident,
    Int,
    Item,
    List,
    Logop,
    Option,
    Pfxop,
    PrefixRelop,
    Relop,
    Section,
    String,
    Variable,
)

__all__ = ["AST_NODES", "MAX_DEPTH", "Nodes", "check_opam_version", "parse_tokens"]

MAX_DEPTH: Final = 100

_ATOMS: Final = frozenset({L.IDENT, L.BOOL, L.INT, L.STRING})
_CLOSERS: Final = {L.LBRACKET: L.RBRACKET, L.LPAR: L.RPAR, L.LBRACE: L.RBRACE}
_OPENER_TEXT: Final = {L.LBRACKET: "[", L.LPAR: "(", L.LBRACE: "{"}
_CLOSER_TEXT: Final = {L.LBRACKET: "]", L.LPAR: ")", L.LBRACE: "}"}
_STOPPERS: Final = frozenset({L.RBRACKET, L.RPAR, L.RBRACE, L.EOF})


class _TooDeep(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Nodes:
    """What the parser builds each node with: the syntax-tree classes, or another representation.

    A repository load never needs syntax trees, only their compact encoding for the index
    (``opamlock.repository.compact``); building that directly saves building and then walking
    millions of nodes. Each builder takes the arguments of the class of the same name, ``pos``
    last; ``pos_of`` reads a built node's position back (for ``Option``/``Logop``, which start
    where their first operand does); ``item_info`` says of a built item whether it is a field
    ``opam-version: "…"`` (for :func:`check_opam_version`).
    """

    Bool: Callable[..., Any]
    Int: Callable[..., Any]
    String: Callable[..., Any]
    Ident: Callable[..., Any]
    Relop: Callable[..., Any]
    PrefixRelop: Callable[..., Any]
    Logop: Callable[..., Any]
    Pfxop: Callable[..., Any]
    List: Callable[..., Any]
    Group: Callable[..., Any]
    Option: Callable[..., Any]
    EnvBinding: Callable[..., Any]
    Variable: Callable[..., Any]
    Section: Callable[..., Any]
    pos_of: Callable[[Any], tuple[int, int]]
    #: ``(name or None, string value or None, pos)`` of an item.
    item_info: Callable[[Any], tuple[str | None, str | None, tuple[int, int]]]


def _ast_item_info(it: Item) -> tuple[str | None, str | None, tuple[int, int]]:
    if isinstance(it, Variable):
        return it.name, it.value.value if isinstance(it.value, String) else None, it.pos
    return None, None, it.pos


AST_NODES: Final = Nodes(Bool, Int, String, Ident, Relop, PrefixRelop, Logop, Pfxop, List, Group, Option,
                         EnvBinding, Variable, Section, attrgetter("pos"), _ast_item_info)


def _describe(kind: int, val: object) -> str:
    if kind == L.IDENT:
        return f"identifier '{val}'"
    if kind == L.STRING:
        text = str(val)
        return f'string "{text[:20]}…"' if len(text) > 20 else f'string "{text}"'
    if kind in (L.INT, L.BOOL):
        return f"{L.TOKEN_NAMES[kind]} {str(val).lower()}"
    if kind in (L.RELOP, L.ENVOP, L.PFXOP):
        return f"'{val}'"
    return L.TOKEN_NAMES[kind]


def parse_tokens(
    kinds: list[int],
    vals: list[object],
    poss: list[tuple[int, int]],
    fail: Callable[[tuple[int, int], str, str | None], Exception],
    nodes: Nodes = AST_NODES,
) -> list[Any]:
    """Build the items of a file from its tokens; ``fail(pos, message, hint)`` makes the error.

    The items are :class:`~opamlock.opamfile.ast.Item` with the default ``nodes``.
    """
    K = kinds
    V = vals
    P = poss
    ATOMS = _ATOMS
    IDENT, BOOL, INT, STRING = L.IDENT, L.BOOL, L.INT, L.STRING
    RELOP, ENVOP, AND, OR, PFXOP = L.RELOP, L.ENVOP, L.AND, L.OR, L.PFXOP
    LBRACKET, LPAR, LBRACE, RBRACE = L.LBRACKET, L.LPAR, L.LBRACE, L.RBRACE
    COLON = L.COLON
    Bool, Int, String, Ident = nodes.Bool, nodes.Int, nodes.String, nodes.Ident
    Relop, PrefixRelop, Logop, Pfxop = nodes.Relop, nodes.PrefixRelop, nodes.Logop, nodes.Pfxop
    List, Group, Option, EnvBinding = nodes.List, nodes.Group, nodes.Option, nodes.EnvBinding
    Variable, Section, pos_of = nodes.Variable, nodes.Section, nodes.pos_of
    depth = 0

    def unexpected(i: int, wanted: str) -> Exception:
        return fail(P[i], f"expected {wanted}, found {_describe(K[i], V[i])}", None)

    def atom(i: int) -> Any:
        k = K[i]
        if k == STRING:
            return String(V[i], P[i])
        if k == IDENT:
            return Ident(V[i], P[i])
        if k == INT:
            return Int(V[i], P[i])
        return Bool(V[i], P[i])

    def values(i: int, opener: int) -> tuple[list[Any], int]:
        """Values up to the closer of the bracket at ``i - 1``; returns them and the index after it."""
        nonlocal depth
        closer = _CLOSERS[opener]
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep(i - 1)
        out: list[Any] = []
        add = out.append
        while True:
            k = K[i]
            if k == closer:
                depth -= 1
                return out, i + 1
            # The common cases inline (a plain string or identifier, a list), the rest through
            # the general rule; either way followed by any options, '&' and '|'.
            k1 = K[i + 1]
            if k == STRING and k1 != RELOP and k1 != ENVOP:
                v: Any = String(V[i], P[i])
                i += 1
            elif k == IDENT and k1 != RELOP and k1 != ENVOP:
                v = Ident(V[i], P[i])
                i += 1
            elif k == LBRACKET:
                sub, j = values(i + 1, LBRACKET)
                v = List(sub, P[i])
                i = j
            else:
                if k in _STOPPERS:
                    line, col = P[start_of(i, opener)]
                    raise fail(
                        P[i],
                        f"unbalanced '{_OPENER_TEXT[opener]}' opened at {line}:{col}: "
                        f"found {_describe(k, V[i])} before its '{_CLOSER_TEXT[opener]}'",
                        None,
                    )
                v, i = value(i)
                add(v)
                continue
            k = K[i]
            if k == LBRACE or k == AND or k == OR:
                v, i = value_rest(v, i)
            add(v)

    def start_of(i: int, opener: int) -> int:
        """Index of the unclosed ``opener`` that a stray token at ``i`` belongs to (errors only)."""
        closer = _CLOSERS[opener]
        level = 0
        for j in range(i - 1, -1, -1):
            kj = K[j]
            if kj == closer:
                level += 1
            elif kj == opener:
                if level == 0:
                    return j
                level -= 1
        return 0

    def primary(i: int) -> tuple[Any, int]:
        k = K[i]
        if k in ATOMS:
            k1 = K[i + 1]
            if k1 == RELOP or k1 == ENVOP:
                if K[i + 2] not in ATOMS:
                    raise unexpected(i + 2, f"a string, identifier, integer or boolean after '{V[i + 1]}'")
                left = atom(i)
                right = atom(i + 2)
                if k1 == RELOP:
                    return Relop(V[i + 1], left, right, P[i]), i + 3
                return EnvBinding(V[i + 1], left, right, P[i]), i + 3
            return atom(i), i + 1
        if k == LBRACKET:
            items, j = values_at(i)
            return List(items, P[i]), j
        if k == LPAR:
            items, j = values_at(i)
            return Group(items, P[i]), j
        if k == RELOP:
            if K[i + 1] not in ATOMS:
                raise unexpected(i + 1, f"a string, identifier, integer or boolean after '{V[i]}'")
            return PrefixRelop(V[i], atom(i + 1), P[i]), i + 2
        raise unexpected(i, "a value")

    def values_at(i: int) -> tuple[list[Any], int]:
        return values(i + 1, K[i])

    def prefix(i: int) -> tuple[Any, int]:
        nonlocal depth
        if K[i] == PFXOP:
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep(i)
            v, j = prefix(i + 1)
            depth -= 1
            return Pfxop(V[i], v, P[i]), j
        v, i = primary(i)
        while K[i] == LBRACE:
            args, i = values(i + 1, LBRACE)
            v = Option(v, args, pos_of(v))
        return v, i

    def value_rest(v: Any, i: int) -> tuple[Any, int]:
        """Continue a value whose first primary ``v`` ends before token ``i``."""
        while K[i] == LBRACE:
            args, i = values(i + 1, LBRACE)
            v = Option(v, args, pos_of(v))
        while K[i] == AND:
            r, i = prefix(i + 1)
            v = Logop("&", v, r, pos_of(v))
        while K[i] == OR:
            r, i = and_(i + 1)
            v = Logop("|", v, r, pos_of(v))
        return v, i

    def and_(i: int) -> tuple[Any, int]:
        v, i = prefix(i)
        while K[i] == AND:
            r, i = prefix(i + 1)
            v = Logop("&", v, r, pos_of(v))
        return v, i

    def value(i: int) -> tuple[Any, int]:
        v, i = and_(i)
        while K[i] == OR:
            r, i = and_(i + 1)
            v = Logop("|", v, r, pos_of(v))
        return v, i

    def items(i: int, opened: int) -> tuple[list[Any], int]:
        """Items up to EOF (``opened < 0``) or up to the '}' closing the '{' at ``opened``."""
        nonlocal depth
        top = opened < 0
        out: list[Any] = []
        add = out.append
        while True:
            k = K[i]
            if k == IDENT:
                k1 = K[i + 1]
                if k1 == COLON:
                    k2 = K[i + 2]
                    if k2 == STRING and K[i + 3] != RELOP and K[i + 3] != ENVOP:
                        v: Any = String(V[i + 2], P[i + 2])
                        j = i + 3
                        k3 = K[j]
                        if k3 == LBRACE or k3 == AND or k3 == OR:
                            v, j = value_rest(v, j)
                    elif k2 == LBRACKET:
                        sub, j = values(i + 3, LBRACKET)
                        v = List(sub, P[i + 2])
                        k3 = K[j]
                        if k3 == LBRACE or k3 == AND or k3 == OR:
                            v, j = value_rest(v, j)
                    else:
                        v, j = value(i + 2)
                    add(Variable(V[i], v, P[i]))
                    i = j
                    continue
                if k1 == LBRACE or (k1 == STRING and K[i + 2] == LBRACE):
                    name = None
                    j = i + 2
                    if k1 == STRING:
                        name = V[i + 1]
                        j = i + 3
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise _TooDeep(i)
                    section_items, j = items(j, i + (2 if k1 == STRING else 1))
                    depth -= 1
                    add(Section(V[i], name, section_items, P[i]))
                    i = j
                    continue
                if k1 == STRING:
                    raise unexpected(i + 2, f"'{{' to open section {V[i]} \"{V[i + 1]}\"")
                raise unexpected(i + 1, f"':' after field name '{V[i]}' (or '{{' for a section)")
            if top and k == L.EOF:
                return out, i
            if not top and k == RBRACE:
                return out, i + 1
            if k == L.EOF:
                line, col = P[opened]
                raise fail(P[i], f"unbalanced '{{' opened at {line}:{col}: the section is not closed", None)
            if k == BOOL:
                raise fail(P[i], f"'{str(V[i]).lower()}' is a boolean and cannot name a field", None)
            raise unexpected(i, "a field name" if top else "a field name or '}'")

    try:
        result, _ = items(0, -1)
    except _TooDeep as e:
        i = int(e.args[0])
        err = fail(P[i], f"nesting deeper than {MAX_DEPTH} levels", "opamlock limits nesting to keep "
                   "every walk over the tree within Python's recursion limit (opam has no limit)")
        err.opamlock_only = True  # type: ignore[attr-defined]
        raise err from None
    except RecursionError:
        err = fail(P[0], "nesting too deep for Python's recursion limit", None)
        err.opamlock_only = True  # type: ignore[attr-defined]
        raise err from None
    return result


# --- the reference's rules about opam-version ------------------------------------------------

_NOPATCH_PREFIX: Final = re.compile(r"[0-9.]*")
_MAJOR_MINOR: Final = re.compile(r"([0-9][0-9_]*)(?:\.([0-9][0-9_]*))?")
_U63: Final = 1 << 63
_U62: Final = 1 << 62


def nopatch(version: str) -> tuple[int, int]:
    """``major.minor`` of an ``opam-version`` string, exactly as opam-file-format 2.1.5 computes it.

    It keeps the text before a second ``.`` (or else the leading digits-and-dots), which must
    then be all of ``MAJOR`` or ``MAJOR.MINOR`` (digits, ``_`` allowed after the first) or the
    answer is ``(0, 0)``: ``"3"`` is 3.0, ``"3."`` and ``"2.2x.0"`` are 0.0, ``"2.2x"`` is 2.2.
    Numbers are unsigned 63-bit: they wrap to negative above ``max_int`` and fail from ``2**63``.
    Every one of these rules was checked against the reference binary.
    """
    first = version.find(".")
    second = version.find(".", first + 1) if first >= 0 else -1
    s = version[:second] if second >= 0 else _NOPATCH_PREFIX.match(version).group()  # type: ignore[union-attr]
    m = _MAJOR_MINOR.fullmatch(s)
    if m is None:
        return (0, 0)
    out = []
    for g in (m.group(1), m.group(2) or "0"):
        n = int(g.replace("_", "")) if len(g) < 40 else _U63
        if n >= _U63:
            return (0, 0)
        out.append(n - _U63 if n >= _U62 else n)
    return out[0], out[1]


LIBRARY_VERSION: Final = (2, 1)


def header_version(kinds: list[int], vals: list[object]) -> str | None:
    """The version of an ``opam-version: "…"`` that opens the file, as the first three tokens."""
    if len(kinds) >= 3 and kinds[0] == L.IDENT and vals[0] == "opam-version" and kinds[1] == L.COLON \
            and kinds[2] == L.STRING:
        return str(vals[2])
    return None


def check_opam_version(
    items: list[Any], header: str | None, nodes: Nodes = AST_NODES
) -> tuple[int, tuple[int, int], str] | None:
    """The reference's post-parse check: (index of the offending item, its position, message) or None.

    A file opening with ``opam-version`` 2.1 or later may not repeat it; otherwise a later
    ``opam-version`` above 2.0 is "not first". The reference skips the first item, whatever it is.
    """
    format21 = header is not None and nopatch(header) >= (2, 1)
    info = nodes.item_info
    for n, it in enumerate(items[1:], 1):
        name, value, pos = info(it)
        if name == "opam-version" and value is not None:
            if format21:
                return n, pos, "opam-version cannot be repeated"
            if nopatch(value) > (2, 0):
                return n, pos, "opam-version must be the first non-comment line"
    return None


def opam_version_is_first_only(kinds: list[int], vals: list[object]) -> bool:
    """True when no token but possibly the first spells ``opam-version``: then
    :func:`check_opam_version` has nothing to find, and the item-by-item walk is skipped."""
    n = vals.count("opam-version")
    return n == 0 or (n == 1 and kinds[0] == L.IDENT and vals[0] == "opam-version")
