"""Source check: the project's own dune files must not make the unikernel link Unix.

A unikernel's libraries and executables name what they link in ``(libraries …)``. Listing
``unix``, ``threads`` or a Unix sublibrary such as ``lwt.unix`` there fails the cross-build much
later and far less clearly, so each such entry is reported with ``file:line:col``.

Test stanzas (``test``/``tests``) and trees that are not the unikernel (``_build``, ``_opam``,
``duniverse``, ``test``/``tests`` directories, dot-directories) are skipped; ``(select …)``
alternatives are optional by construction and skipped too.

The reader below is a small s-expression reader for dune's syntax: atoms, quoted strings,
``;`` line comments, ``#| … |#`` block comments and ``#;`` datum comments, with positions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opamlock.errors import LocatedError
from opamlock.mirage.rules import Rules

__all__ = ["Atom", "SExp", "SourceFinding", "parse_sexps", "scan_dune_file", "scan_project"]

_SKIP_DIRS = frozenset({"_build", "_opam", "duniverse", "node_modules", "test", "tests"})
_STANZAS = frozenset({"library", "executable", "executables"})


class DuneSyntaxError(LocatedError):
    """A dune file the reader cannot read (an unbalanced parenthesis, an unterminated string)."""


@dataclass(frozen=True, slots=True)
class Atom:
    value: str
    line: int
    col: int
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class SExp:
    items: tuple[Atom | SExp, ...]
    line: int
    col: int

    def head(self) -> str | None:
        if self.items and isinstance(self.items[0], Atom) and not self.items[0].quoted:
            return self.items[0].value
        return None

    def field(self, name: str) -> SExp | None:
        for it in self.items[1:]:
            if isinstance(it, SExp) and it.head() == name:
                return it
        return None


@dataclass(frozen=True)
class SourceFinding:
    file: str
    line: int
    col: int
    library: str
    stanza: str

    def render(self) -> str:
        return (
            f"error: {self.file}:{self.line}:{self.col}: {self.stanza} links {self.library}, "
            "which a unikernel cannot link (no unix/threads on Solo5 or Xen)"
        )


class _Reader:
    def __init__(self, text: str, filename: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.bol = 0
        self.filename = filename

    def _err(self, msg: str, line: int, col: int) -> DuneSyntaxError:
        lines = self.s.splitlines()
        src = lines[line - 1] if 0 < line <= len(lines) else None
        return DuneSyntaxError(msg, filename=self.filename, line=line, col=col, source_line=src)

    def _pos(self) -> tuple[int, int]:
        return self.line, self.i - self.bol + 1

    def _advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.s[self.i] == "\n":
                self.line += 1
                self.bol = self.i + 1
            self.i += 1

    def _skip(self) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n\f":
                self._advance()
            elif c == ";":
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            elif s.startswith("#|", self.i):
                line, col = self._pos()
                depth = 0
                while self.i < len(s):
                    if s.startswith("#|", self.i):
                        depth += 1
                        self._advance(2)
                    elif s.startswith("|#", self.i):
                        depth -= 1
                        self._advance(2)
                        if depth == 0:
                            break
                    else:
                        self._advance()
                else:
                    raise self._err("unterminated block comment", line, col)
            elif s.startswith("#;", self.i):
                self._advance(2)
                self._skip()
                if self.i < len(s):
                    self.read()
            else:
                return

    def read(self) -> Atom | SExp:
        self._skip()
        s = self.s
        line, col = self._pos()
        if self.i >= len(s):
            raise self._err("unexpected end of file", line, col)
        c = s[self.i]
        if c == "(":
            self._advance()
            items: list[Atom | SExp] = []
            while True:
                self._skip()
                if self.i >= len(s):
                    raise self._err("unclosed parenthesis", line, col)
                if s[self.i] == ")":
                    self._advance()
                    return SExp(tuple(items), line, col)
                items.append(self.read())
        if c == ")":
            raise self._err("unexpected ')'", line, col)
        if c == '"':
            self._advance()
            buf: list[str] = []
            while True:
                if self.i >= len(s):
                    raise self._err("unterminated string", line, col)
                ch = s[self.i]
                if ch == '"':
                    self._advance()
                    return Atom("".join(buf), line, col, quoted=True)
                if ch == "\\" and self.i + 1 < len(s):
                    nxt = s[self.i + 1]
                    buf.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(nxt, nxt))
                    self._advance(2)
                    continue
                buf.append(ch)
                self._advance()
        start = self.i
        while self.i < len(s) and s[self.i] not in ' \t\r\n\f()";':
            self._advance()
        return Atom(s[start:self.i], line, col)

    def read_all(self) -> list[Atom | SExp]:
        out: list[Atom | SExp] = []
        while True:
            self._skip()
            if self.i >= len(self.s):
                return out
            out.append(self.read())


def parse_sexps(text: str, filename: str = "dune") -> list[Atom | SExp]:
    return _Reader(text, filename).read_all()


def _is_unix_lib(name: str, rules: Rules) -> bool:
    return name in rules.dune_libraries or name.endswith(rules.dune_suffixes)


def _library_atoms(libs: SExp) -> Iterator[Atom]:
    for it in libs.items[1:]:
        if isinstance(it, Atom):
            yield it
        elif it.head() == "re_export":
            yield from (a for a in it.items[1:] if isinstance(a, Atom))
        # (select …) lists optional alternatives; anything else is dune's ordered-set language.


def scan_dune_file(path: Path, rules: Rules, display: str | None = None) -> list[SourceFinding]:
    name = display or str(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    out: list[SourceFinding] = []
    for form in parse_sexps(text, name):
        if not isinstance(form, SExp) or form.head() not in _STANZAS:
            continue
        kind = form.head() or ""
        ident = form.field("name") or form.field("names")
        label = kind
        if ident is not None and len(ident.items) > 1 and isinstance(ident.items[1], Atom):
            label = f"{kind} {ident.items[1].value}"
        libs = form.field("libraries")
        if libs is None:
            continue
        for a in _library_atoms(libs):
            if _is_unix_lib(a.value, rules):
                out.append(SourceFinding(name, a.line, a.col, a.value, f"({label})"))
    return out


def scan_project(root: Path, rules: Rules) -> list[SourceFinding]:
    """Every finding in the project's dune files, in path order."""
    out: list[SourceFinding] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if "dune" in filenames:
            p = Path(dirpath) / "dune"
            out.extend(scan_dune_file(p, rules, p.relative_to(root).as_posix()))
    return out
