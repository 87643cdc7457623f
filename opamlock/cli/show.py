"""``opamlock show NAME[.VERSION] [--json]``: one package's definition as opamlock parsed it."""

from __future__ import annotations

import json
from typing import Any

import click

from opamlock.cli import main
from opamlock.cli._repos import REPO_HELP, open_universe, report_load_notes, require_package
from opamlock.errors import OpamlockError
from opamlock.opamfile import ast
from opamlock.package import Package

#: Fields shown first, in this order, in the human-readable form; the rest follow in file order.
_HEAD = ("synopsis", "maintainer", "license", "homepage", "flags", "available", "depends", "depopts",
         "conflicts", "conflict-class")


def _text(v: ast.Value) -> str:
    """opam-like text of a value, for display (parenthesised wherever precedence could mislead)."""
    if isinstance(v, ast.String):
        return json.dumps(v.value, ensure_ascii=False)
    if isinstance(v, ast.Bool):
        return "true" if v.value else "false"
    if isinstance(v, ast.Int):
        return str(v.value)
    if isinstance(v, ast.Ident):
        return v.name
    if isinstance(v, ast.List):
        return "[" + " ".join(_text(i) for i in v.items) + "]"
    if isinstance(v, ast.Group):
        return "(" + " ".join(_text(i) for i in v.items) + ")"
    if isinstance(v, ast.Option):
        return f"{_text(v.value)} {{" + " ".join(_text(a) for a in v.args) + "}"
    if isinstance(v, ast.Logop):
        return f"{_operand(v.left, v.op)} {v.op} {_operand(v.right, v.op)}"
    if isinstance(v, ast.Relop | ast.EnvBinding):
        return f"{_text(v.left)} {v.op} {_text(v.right)}"
    if isinstance(v, ast.PrefixRelop):
        return f"{v.op} {_text(v.value)}"
    if isinstance(v, ast.Pfxop):
        inner = _text(v.value)
        return f"{v.op}({inner})" if isinstance(v.value, ast.Logop | ast.Relop) else f"{v.op}{inner}"
    raise TypeError(f"not an opam value: {v!r}")


def _operand(v: ast.Value, parent_op: str) -> str:
    if isinstance(v, ast.Logop) and v.op != parent_op:
        return f"({_text(v)})"
    return _text(v)


def _json(v: ast.Value) -> Any:
    """Plain JSON where the value is plain (strings, lists, bools), the opam text where it is not."""
    if isinstance(v, ast.String | ast.Bool | ast.Int):
        return v.value
    if isinstance(v, ast.Ident):
        return {"ident": v.name}
    if isinstance(v, ast.List | ast.Group):
        return [_json(i) for i in v.items]
    if isinstance(v, ast.Option):
        return {"value": _json(v.value), "filter": " ".join(_text(a) for a in v.args)}
    return {"expr": _text(v)}


def _items_json(items: list[ast.Item]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        if isinstance(it, ast.Variable):
            out[it.name] = _json(it.value)
        else:
            key = it.kind if it.name is None else f"{it.kind} {json.dumps(it.name)}"
            out[key] = _items_json(list(it.items))
    return out


def describe(p: Package, files: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The JSON document of ``show --json``: identity first, then interpreted and raw fields."""
    url = p.url
    doc: dict[str, Any] = {
        "name": p.name,
        "version": str(p.version),
        "repository": p.repository,
        "opam-hash": p.opam_hash,
        "flags": sorted(p.flags),
    }
    for field in ("depends", "depopts", "conflicts", "available"):
        raw = p.field(field)
        doc[field] = _text(raw) if raw is not None else None
    doc["url"] = None if url is None else {"src": url.src, "checksum": list(url.checksums),
                                           "mirrors": list(url.mirrors)}
    doc["extra-sources"] = [{"name": e.name, "src": e.src, "checksum": list(e.checksums)}
                            for e in p.extra_sources]
    doc["files"] = [{"path": f, "sha256": h} for f, h in files]
    doc["fields"] = _items_json(list(p.opam.items))
    return doc


def _section_text(s: ast.Section, indent: str = "  ") -> list[str]:
    head = s.kind if s.name is None else f"{s.kind} {json.dumps(s.name)}"
    out = [f"{head} {{"]
    for it in s.items:
        if isinstance(it, ast.Variable):
            out.append(f"{indent}{it.name}: {_text(it.value)}")
        else:
            out.extend(indent + line for line in _section_text(it, indent))
    out.append("}")
    return out


def render_text(p: Package, files: tuple[tuple[str, str], ...]) -> str:
    lines = [f"{'name':<12}{p.name}", f"{'version':<12}{p.version}", f"{'repository':<12}{p.repository}",
             f"{'opam-hash':<12}{p.opam_hash}"]
    for f, h in files:
        lines.append(f"{'file':<12}{f} sha256={h}")
    lines.append("")
    fields = [it for it in p.opam.items if isinstance(it, ast.Variable)]
    order = {n: i for i, n in enumerate(_HEAD)}
    last = {it.name: it for it in fields}  # opam keeps the last occurrence of a repeated field
    for it in sorted(last.values(), key=lambda it: (order.get(it.name, len(_HEAD)), fields.index(it))):
        lines.append(f"{it.name}: {_text(it.value)}")
    for sec in p.opam.items:
        if isinstance(sec, ast.Section):
            lines.extend(_section_text(sec))
    return "\n".join(lines)


@main.command("show")
@click.argument("package")
@click.option("--json", "as_json", is_flag=True, help="Print the package as one JSON document.")
@click.option("--repo", "repos", multiple=True, metavar="PATH_OR_URL", help=REPO_HELP)
def show_command(package: str, as_json: bool, repos: tuple[str, ...]) -> None:
    """Show PACKAGE (NAME for its newest version, or NAME.VERSION) as parsed from its opam file."""
    universe, _ = open_universe(repos, purpose="to show from")
    report_load_notes(universe)
    name, dot, version = package.partition(".")  # opam names never contain a dot
    require_package(universe, name)
    if dot:
        try:
            p = universe.package(name, version)
        except KeyError:
            known = universe.version_strings(name)
            raise OpamlockError(f"no version {version!r} of {name}",
                                hint="known versions: " + " ".join(known[-10:])) from None
    else:
        p = universe.latest(name)
    files = universe.files(p.name, p.version)
    if as_json:
        click.echo(json.dumps(describe(p, files), indent=1, ensure_ascii=False))
    else:
        click.echo(render_text(p, files))
