"""Small opam packages built from syntax trees, for lock tests that must not depend on the parser."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from opamlock.opamfile import ast
from opamlock.package import Package
from opamlock.version import OpamVersion

Dep = tuple[str, str | None]  # ("lib-a", '>= "1.0"'), ("dune", "build"), ("x", 'os = "macos"')


def _cond(text: str) -> ast.Value:
    """A tiny reader for the conditions these tests use: `>= "1"`, `build`, `with-test`, `os = "x"`,
    and `&` between them."""
    parts = [p.strip() for p in text.split("&")]
    vals: list[ast.Value] = []
    for p in parts:
        if p[:2] in (">=", "<=", "!=") or p[:1] in ("=", "<", ">"):
            op = p[:2] if p[:2] in (">=", "<=", "!=") else p[:1]
            vals.append(ast.PrefixRelop(op, ast.String(p[len(op) :].strip().strip('"'))))  # type: ignore[arg-type]
        elif "=" in p:
            var, _, val = p.partition("=")
            vals.append(ast.Relop("=", ast.Ident(var.strip()), ast.String(val.strip().strip('"'))))
        else:
            vals.append(ast.Ident(p))
    out = vals[0]
    for v in vals[1:]:
        out = ast.Logop("&", out, v)
    return out


def deps_value(deps: Sequence[Dep]) -> ast.List:
    items: list[ast.Value] = []
    for name, cond in deps:
        items.append(ast.String(name) if cond is None else ast.Option(ast.String(name), [_cond(cond)]))
    return ast.List(items)


def opam(
    deps: Sequence[Dep] = (),
    *,
    build: Sequence[Sequence[str]] = (),
    url: str | None = None,
    depexts: Sequence[tuple[str, str]] = (),
    depopts: Sequence[str] = (),
    flags: Sequence[str] = (),
) -> ast.OpamFile:
    items: list[ast.Item] = [ast.Variable("opam-version", ast.String("2.0"))]
    if deps:
        items.append(ast.Variable("depends", deps_value(deps)))
    if depopts:
        items.append(ast.Variable("depopts", ast.List([ast.String(n) for n in depopts])))
    if flags:
        items.append(ast.Variable("flags", ast.List([ast.Ident(f) for f in flags])))
    if build:
        cmds: list[ast.Value] = []
        for c in build:
            args: list[ast.Value] = []
            for a in c:
                if a.startswith("{") and a.endswith("}"):  # filter on the previous argument
                    args[-1] = ast.Option(args[-1], [_cond(a[1:-1])])
                elif a.startswith("%"):  # a bare variable, as `name` in ["dune" "-p" name]
                    args.append(ast.Ident(a[1:]))
                else:
                    args.append(ast.String(a))
            cmds.append(ast.List(args))
        items.append(ast.Variable("build", ast.List(cmds)))
    if depexts:
        items.append(
            ast.Variable(
                "depexts", ast.List([ast.Option(ast.List([ast.String(n)]), [_cond(c)]) for n, c in depexts])
            )
        )
    if url:
        digest = hashlib.sha256(url.encode()).hexdigest()
        items.append(
            ast.Section(
                "url",
                None,
                [
                    ast.Variable("src", ast.String(url)),
                    ast.Variable("checksum", ast.List([ast.String(f"sha256={digest}")])),
                ],
            )
        )
    return ast.OpamFile(items)


def pkg(
    name: str, version: str, deps: Sequence[Dep] = (), *, repository: str = "toy", **kw: object
) -> Package:
    tree = opam(deps, **kw)  # type: ignore[arg-type]
    digest = hashlib.sha256(f"{name}.{version}:{tree!r}".encode()).hexdigest()
    return Package(name, OpamVersion(version), tree, repository=repository, opam_hash="sha256:" + digest)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
