"""Tokens of the opam file format, as opam-file-format's ``opamLexer.mll`` (2.1) cuts them.

The whole file is cut by one compiled regular expression driven through ``Pattern.scanner``:
``scanner.match`` never skips text, so a position the expression cannot match is exactly a
lexing error, and the per-token work left to Python is a branch on ``lastindex``. The
alternatives are ordered so that the first one matching is the one ocamllex's longest-match
rule picks (``:=`` before ``:``, triple quotes before one quote, identifiers before integers, …).

The token stream is three parallel lists (kinds, values, positions) because the parser indexes
them far more often than it would unpack tuples.

Behaviours checked against the reference binary (opam-file-format 2.1.5, Debian's):

* ``~`` is the operator ``>=``; ``=`` is always a comparison, never an environment update;
* ``\r\n`` ends a line like ``\n``, and inside strings it reads as ``\n``; a lone ``\r`` is
  kept inside strings and comments and is an invalid token anywhere else;
* integers are OCaml's 63-bit ints (``1_000`` is 1000, ``_`` and ``_1`` are errors);
* the exact file endings in :data:`MAGIC_TAILS` fail to lex (the reference's own trick).

Deliberate differences from the reference, all rejections of input opam accepts:

* the text must be UTF-8 (opam takes any bytes); a string whose escapes spell invalid UTF-8 is
  rejected too, because string values are Python ``str``;
* columns count characters, not bytes.
"""

from __future__ import annotations

import re
from typing import Final

from opamlock.errors import LocatedError

__all__ = [
    "AND",
    "BOOL",
    "COLON",
    "ENVOP",
    "EOF",
    "IDENT",
    "INT",
    "LBRACE",
    "LBRACKET",
    "LPAR",
    "OR",
    "PFXOP",
    "RBRACE",
    "RBRACKET",
    "RELOP",
    "RPAR",
    "STRING",
    "TOKEN_NAMES",
    "OpamSyntaxError",
    "locate",
    "tokenize",
]


class OpamSyntaxError(LocatedError):
    """An opam file that opam-file-format (or opamlock's stricter UTF-8 rule) rejects."""


# Token kinds. The values are the regex group numbers of the master expression below, so the
# lexer's dispatch needs no mapping for the common punctuation tokens.
STRING: Final = 1
NEWLINE: Final = 2
COLON: Final = 3
LBRACKET: Final = 4
RBRACKET: Final = 5
LBRACE: Final = 6
RBRACE: Final = 7
IDENT: Final = 8
TSTRING: Final = 9  # lexer-internal: a triple-quoted string, reported as STRING
LPAR: Final = 10
RPAR: Final = 11
OP: Final = 12  # lexer-internal: split into RELOP / ENVOP / AND / OR / PFXOP below
INT: Final = 13
COMMENT: Final = 14
CRLF: Final = 15
END: Final = 16
LCOMMENT: Final = 17
# Kinds that exist only after classification (no group of their own).
RELOP: Final = 20
ENVOP: Final = 21
AND: Final = 22
OR: Final = 23
PFXOP: Final = 24
BOOL: Final = 25
EOF: Final = 26

TOKEN_NAMES: Final[dict[int, str]] = {
    COLON: "':'",
    LBRACKET: "'['",
    RBRACKET: "']'",
    LBRACE: "'{'",
    RBRACE: "'}'",
    IDENT: "identifier",
    STRING: "string",
    LPAR: "'('",
    RPAR: "')'",
    INT: "integer",
    RELOP: "comparison operator",
    ENVOP: "environment update operator",
    AND: "'&'",
    OR: "'|'",
    PFXOP: "prefix operator",
    BOOL: "boolean",
    EOF: "end of file",
}

_ID = r"[0-9_\-]*[A-Za-z][A-Za-z0-9_\-]*"
_MASTER = re.compile(
    r"""[ \t]*(?:
      "(?!"")([^"\\]*(?:\\.[^"\\]*)*)"
    | (\n)
    | (:)(?!=)
    | (\[) | (\]) | (\{) | (\})
    | ((?:ID|_)(?:\+(?:ID|_))*(?::ID)?)
    | \"\"\"((?:[^"\\]|\\.|"(?!""))*)\"\"\"
    | (\()(?!\*) | (\))
    | (=\+=?|=:|[+:]=|!=|[<>]=?|=|~|&|\||!|\?)
    | (-?[0-9_]+)
    | (\#[^\n]*)
    | (\r\n)
    | (\Z)
    | (\(\*)
    )""".replace("ID", _ID),
    re.VERBOSE | re.DOTALL,
)
_SPECIAL_IDENTS: Final = frozenset({"true", "false", "_"})
_COMMENT_MARK = re.compile(r"\(\*|\*\)")
_ESCAPE = re.compile(r"""\\(?:(\r?\n[ \t]*)|([\\"'nrtb ])|([0-9]{3})|x([0-9a-fA-F]{2})|)""")
_SIMPLE_ESCAPES: Final = {
    "\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t", "b": "\b", " ": " ",
}
_OPS: Final[dict[str, tuple[int, str]]] = {
    "=": (RELOP, "="),
    "!=": (RELOP, "!="),
    "<": (RELOP, "<"),
    "<=": (RELOP, "<="),
    ">": (RELOP, ">"),
    ">=": (RELOP, ">="),
    "~": (RELOP, ">="),  # opam-file-format 2.1 reads ``~`` as ``>=`` (2.2 makes it its own operator)
    "&": (AND, "&"),
    "|": (OR, "|"),
    "!": (PFXOP, "!"),
    "?": (PFXOP, "?"),
    "+=": (ENVOP, "+="),
    ":=": (ENVOP, ":="),
    "=+": (ENVOP, "=+"),
    "=+=": (ENVOP, "=+="),
    "=:": (ENVOP, "=:"),
}
# OCaml's native int is 63 bits; ``int_of_string`` rejects anything outside.
_MIN_INT: Final = -(1 << 62)
_MAX_INT: Final = (1 << 62) - 1

# opam-file-format's lexer turns these exact file endings into errors (a trick its parser uses to
# raise located errors about ``opam-version``); a token starting there fails to lex.
MAGIC_TAILS: Final = ('opam-version: "2.1"\nopam-version: "z"', 'version: "42"\nopam-version: "2.1"')

Pos = tuple[int, int]


def locate(text: str, offset: int) -> Pos:
    """(line, column), both 1-based, of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - text.rfind("\n", 0, offset)


def source_line(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


def error_at(text: str, filename: str, offset: int, message: str, hint: str | None = None) -> OpamSyntaxError:
    offset = max(0, min(offset, len(text)))
    line, col = locate(text, offset)
    return OpamSyntaxError(
        message, filename=filename, line=line, col=col, source_line=source_line(text, line), hint=hint
    )


def error_at_pos(
    text: str, filename: str, pos: Pos, message: str, hint: str | None = None
) -> OpamSyntaxError:
    return OpamSyntaxError(
        message, filename=filename, line=pos[0], col=pos[1], source_line=source_line(text, pos[0]), hint=hint
    )


def _lex_error(text: str, filename: str, pos: int) -> OpamSyntaxError:
    """Explain why no token starts at ``pos`` (after blanks)."""
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    c = text[pos]
    if c == '"':
        return error_at(text, filename, pos, "unterminated string started here",
                        hint="close it with '\"', or with '\"\"\"' for a triple-quoted string")
    if c in "0123456789_-":
        m = re.compile(r"-?[0-9_]+").match(text, pos)
        if m is not None:
            return error_at(text, filename, pos, f"invalid integer {m.group()!r}",
                            hint="integers start with a digit after an optional '-'")
    if c == "\r":
        return error_at(text, filename, pos, "carriage return outside a string and not before a newline")
    return error_at(text, filename, pos, f"{c!r} is not a valid token")


def _unescape(text: str, filename: str, body: str, body_start: int) -> str:
    """Decode a string body that contains backslashes (the fast path handles the others)."""
    out = bytearray()
    last = 0
    for m in _ESCAPE.finditer(body):
        out += body[last : m.start()].replace("\r\n", "\n").encode()
        last = m.end()
        if m.lastindex is None:
            return _raise(error_at(text, filename, body_start + m.start(), "illegal escape sequence",
                                   hint='valid escapes: \\\\ \\" \\\' \\n \\r \\t \\b \\<space> \\NNN \\xHH'))
        if m.lastindex == 1:
            continue
        if m.lastindex == 2:
            out += _SIMPLE_ESCAPES[m.group(2)].encode()
        elif m.lastindex == 3:
            code = int(m.group(3))
            if code > 255:
                return _raise(error_at(text, filename, body_start + m.start(),
                                       "illegal escape sequence (decimal escape above 255)"))
            out.append(code)
        else:
            out.append(int(m.group(4), 16))
    out += body[last:].replace("\r\n", "\n").encode()
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        e = error_at(text, filename, body_start - 1, "string escapes spell bytes that are not UTF-8",
                     hint="opamlock keeps strings as UTF-8 text (opam accepts any bytes)")
        e.opamlock_only = True  # type: ignore[attr-defined]
        return _raise(e)


def _raise(e: OpamSyntaxError) -> str:
    raise e


def tokenize(text: str, filename: str) -> tuple[list[int], list[object], list[Pos]]:
    """Cut ``text`` into (kinds, values, positions), ending with one EOF token.

    Values: decoded ``str`` for strings and identifiers, ``int`` for integers, ``bool`` for
    booleans, the canonical operator for operators, ``None`` for punctuation. A lexing error
    carries ``partial``, the first three tokens' (kinds, values, positions), because the
    reference decides from those whether to report the error at all.
    """
    kinds: list[int] = []
    vals: list[object] = []
    poss: list[Pos] = []
    try:
        _scan(text, filename, kinds, vals, poss)
    except OpamSyntaxError as e:
        # Only tokens that lexed completely count (a string's kind is recorded before its value).
        n = min(3, len(kinds), len(vals), len(poss))
        e.partial = (kinds[:n], vals[:n], poss[:n])  # type: ignore[attr-defined]
        raise
    return kinds, vals, poss


def _scan(text: str, filename: str, kinds: list[int], vals: list[object], poss: list[Pos]) -> None:
    kadd = kinds.append
    vadd = vals.append
    padd = poss.append
    match = _MASTER.scanner(text).match  # type: ignore[attr-defined]
    special = _SPECIAL_IDENTS
    line = 1
    bol = -1  # offset of the last newline seen; columns are ``offset - bol``
    resume = 0  # where the scanner started, for error reports after a comment
    m = None
    while True:
        prev = m
        m = match()
        if m is None:
            raise _lex_error(text, filename, resume if prev is None else prev.end())
        k = m.lastindex
        # Kinds are the group numbers (see the constants above), spelled as literals here
        # because this loop runs once per token of every file.
        if k == 1:  # STRING
            v = m[1]
            body_start = m.start(1)
            kadd(1)
            padd((line, body_start - 1 - bol))
            if "\\" in v:
                vadd(_unescape(text, filename, v, body_start))
            elif "\r" in v:
                vadd(v.replace("\r\n", "\n"))
            else:
                vadd(v)
            if "\n" in v:
                line += v.count("\n")
                bol = body_start + v.rfind("\n")
        elif k == 2:  # NEWLINE
            line += 1
            bol = m.start(2)
        elif k < 8:  # : [ ] { }
            kadd(k)
            vadd(None)
            padd((line, m.start(k) - bol))
        elif k == 8:  # IDENT
            v = m[8]
            if v in special:
                if v == "_":
                    raise error_at(text, filename, m.start(8), "invalid integer '_'",
                                   hint="'_' alone is neither an identifier nor an integer")
                kadd(BOOL)
                vadd(v == "true")
            else:
                kadd(8)
                vadd(v)
            padd((line, m.start(8) - bol))
        elif k == 9:  # TSTRING
            v = m[9]
            body_start = m.start(9)
            kadd(1)
            padd((line, body_start - 3 - bol))
            if "\\" in v:
                vadd(_unescape(text, filename, v, body_start))
            else:
                vadd(v.replace("\r\n", "\n"))
            if "\n" in v:
                line += v.count("\n")
                bol = body_start + v.rfind("\n")
        elif k == 10 or k == 11:  # ( )
            kadd(k)
            vadd(None)
            padd((line, m.start(k) - bol))
        elif k == 12:  # OP
            kind, op = _OPS[m[12]]
            kadd(kind)
            vadd(op)
            padd((line, m.start(12) - bol))
        elif k == 13:  # INT
            v = m[13]
            start = m.start(13)
            digits = v.lstrip("-")
            if not digits[0].isdigit():
                raise error_at(text, filename, start, f"invalid integer {v!r}",
                               hint="integers start with a digit after an optional '-'")
            v = v.replace("_", "")
            n = int(v) if len(v) < 22 else _MAX_INT + 1
            if not _MIN_INT <= n <= _MAX_INT:
                raise error_at(text, filename, start, f"integer {v} does not fit in 63 bits")
            kadd(INT)
            vadd(n)
            padd((line, start - bol))
        elif k == 14:  # COMMENT
            pass
        elif k == 15:  # CRLF
            line += 1
            bol = m.start(15) + 1
        elif k == 16:  # END
            # Three EOF tokens: the parser may look up to three tokens ahead without checking.
            kinds += (EOF, EOF)
            vals += (None, None)
            kadd(EOF)
            vadd(None)
            # Point an "unexpected end of file" at the last character, not past the input.
            end = m.start(16)
            eof = locate(text, end - 1) if end and text[end - 1] == "\n" else (line, end - bol)
            poss += (eof, eof, eof)
            if text.endswith(MAGIC_TAILS):
                _check_magic_tail(text, filename, kinds, poss)
            break
        else:  # (* nested comment *)
            start = m.start(17)
            depth = 1
            end = -1
            for cm in _COMMENT_MARK.finditer(text, start + 2):
                if cm.group() == "*)":
                    depth -= 1
                    if depth == 0:
                        end = cm.end()
                        break
                else:
                    depth += 1
            if end < 0:
                raise error_at(text, filename, start, "unterminated comment started here",
                               hint="'(*' comments nest: every '(*' needs its own '*)'")
            nl = text.count("\n", start, end)
            if nl:
                line += nl
                bol = text.rfind("\n", start, end)
            match = _MASTER.scanner(text, end).match  # type: ignore[attr-defined]
            resume = end
            m = None


def _check_magic_tail(text: str, filename: str, kinds: list[int], poss: list[Pos]) -> None:
    for tail in MAGIC_TAILS:
        if text.endswith(tail):
            at = locate(text, len(text) - len(tail))
            for kind, pos in zip(kinds, poss, strict=True):
                if pos == at and kind == IDENT:
                    raise error_at(text, filename, len(text) - len(tail),
                                   "opam-version must come first and only once"
                                   if tail.startswith("version") else "opam-version cannot be repeated")
