"""Export a lock as ``<pkg>.opam.locked`` files, the format of ``opam lock`` and opam-monorepo.

``opam install . --locked`` reads ``<pkg>.opam.locked`` beside ``<pkg>.opam``. What ``opam lock``
(opam 2.1, ``opamLockCommand.ml``) writes, and what this reproduces from the lock instead of from
an installed switch, is the project opam file with:

* ``depends`` replaced by an exact ``"name" {= "version"}`` for every package of the locked
  closure (build and post dependencies included); packages needed only for the project's tests
  or docs keep that condition: ``{= "1.9.0" & with-test}``;
* ``depopts`` removed, and each depopt that is not in the closure added to ``conflicts``, so
  nothing optional sneaks in;
* ``pin-depends`` for packages that come from a repository above the last (lowest-priority) one,
  e.g. opam-overlays ports, which a plain opam-repository does not have: each is pinned to its
  locked source archive.

Everything else in the file is kept byte for byte: the fields replaced are cut out by their
position in the parsed file and the new text is put where ``depends`` was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opamlock.atomicfile import atomic_write
from opamlock.errors import OpamlockError
from opamlock.lockfile import Lock, LockedPackage
from opamlock.opamfile import ast

__all__ = ["ExportedFile", "export_opam_locked", "locked_opam_text"]

_REPLACED = ("depends", "depopts", "conflicts", "pin-depends")


@dataclass(frozen=True, slots=True)
class ExportedFile:
    path: Path
    changed: bool


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _closure_kinds(lock: Lock, platform: str, root: str) -> dict[str, str]:
    """Each package the root needs, and why: "" (always), "with-test" or "with-doc" only.

    A package reached through any non-test, non-doc path is needed always; otherwise it is
    needed only under the condition of the root edge that brought it in.
    """
    cond: dict[str, str] = {}
    root_rec = lock.get(root, platform)
    if root_rec is None:
        raise OpamlockError(f"{root} is not a root of the lock", hint="re-run `opamlock lock`")
    # Breadth-first twice: first the unconditional closure, then what only test/doc edges add.
    for wanted in ("", "with-test", "with-doc"):
        start = [
            d.name for d in root_rec.depends
            if (wanted == "" and d.kind not in ("test", "doc"))
            or (wanted == "with-test" and d.kind == "test")
            or (wanted == "with-doc" and d.kind == "doc")
        ]
        stack = list(start)
        while stack:
            n = stack.pop()
            if n in cond:
                continue
            cond[n] = wanted
            rec = lock.get(n, platform)
            if rec is not None:
                stack.extend(d.name for d in rec.depends)
    cond.pop(root, None)
    return cond


def _item_spans(text: str, opam: ast.OpamFile) -> list[tuple[int, int, ast.Item]]:
    """(start, end) character offsets of each top-level item; an item ends where the next begins."""
    starts: list[tuple[int, ast.Item]] = []
    line_offsets = [0]
    for chunk in text.split("\n"):
        line_offsets.append(line_offsets[-1] + len(chunk) + 1)
    for it in opam.items:
        line, col = it.pos
        starts.append((line_offsets[line - 1] + col - 1, it))
    starts.sort(key=lambda s: s[0])
    out = []
    for i, (start, it) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        out.append((start, end, it))
    return out


def locked_opam_text(
    text: str,
    opam: ast.OpamFile,
    lock: Lock,
    root: str,
    *,
    platform: str | None = None,
) -> str:
    """The ``.opam.locked`` text for project package ``root``, from its opam file ``text``."""
    pl = lock.platform(platform).name
    cond = _closure_kinds(lock, pl, root)
    records = {p.name: p for p in lock.packages_for(pl)}
    roots = {r.name for r in lock.roots_for(pl)}
    lines = ["depends: ["]
    for name in sorted(cond):
        version = records[name].version if name in records else lock.get(name, pl).version  # type: ignore[union-attr]
        extra = f" & {cond[name]}" if cond[name] else ""
        lines.append(f"  {_quote(name)} {{= {_quote(version)}{extra}}}")
    lines.append("]")

    depopts = _names(opam.field("depopts"))
    missing = [n for n in depopts if n not in cond]
    spans = _item_spans(text, opam)
    old_conflicts = ""
    for start, end, it in spans:
        if isinstance(it, ast.Variable) and it.name == "conflicts":
            old_conflicts = text[start:end].strip()  # opam keeps the last of a repeated field
    if missing:
        lines.append(_conflicts_text(old_conflicts, missing))
    elif old_conflicts:
        lines.append(old_conflicts)

    bottom = lock.repositories[-1].name if lock.repositories else ""
    pins = [records[n] for n in sorted(cond) if n in records and n not in roots
            and records[n].repository != bottom and records[n].source is not None]
    if pins:
        lines.append("pin-depends: [")
        lines += [f"  [{_quote(p.nv)} {_quote(_pin_url(p))}]" for p in pins]
        lines.append("]")
    new_block = "\n".join(lines) + "\n"

    out: list[str] = []
    cursor = 0
    placed = False
    for start, end, it in spans:
        if isinstance(it, ast.Variable) and it.name in _REPLACED:
            out.append(text[cursor:start])
            if not placed:
                out.append(new_block)
                placed = True
            cursor = end
    out.append(text[cursor:])
    result = "".join(out)
    if not placed:
        result = result.rstrip("\n") + "\n" + new_block
    return result


def _pin_url(p: LockedPackage) -> str:
    assert p.source is not None
    return p.source.url


def _conflicts_text(old: str, names: Sequence[str]) -> str:
    added = " ".join(_quote(n) for n in names)
    if not old:
        return f"conflicts: [{added}]"
    # `conflicts: [ … ]` → insert before the closing bracket; a bare value is wrapped.
    body = old.partition(":")[2].strip()
    if body.startswith("[") and body.endswith("]"):
        return f"conflicts: [{body[1:-1].strip()} {added}]"
    return f"conflicts: [{body} {added}]"


def _names(v: ast.Value | None) -> list[str]:
    out: list[str] = []
    if v is None:
        return out
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, ast.String):
            out.append(x.value)
        elif isinstance(x, ast.Option):
            stack.append(x.value)
        elif isinstance(x, ast.List | ast.Group):
            stack.extend(x.items)
        elif isinstance(x, ast.Logop):
            stack.extend((x.left, x.right))
    return sorted(set(out))


def export_opam_locked(project_root: Path, lock: Lock, *, platform: str | None = None) -> list[ExportedFile]:
    """Write ``<root>.opam.locked`` beside each root's opam file; unchanged files are not touched."""
    from opamlock.opamfile import parse

    out = []
    for root in sorted({r.name: r for r in lock.roots_for(platform)}.values(), key=lambda r: r.name):
        src = project_root / root.opam_file
        text = src.read_text(encoding="utf-8")
        locked = locked_opam_text(text, parse(text, root.opam_file), lock, root.name, platform=platform)
        dest = src.parent / (root.name + ".opam.locked")
        data = locked.encode("utf-8")
        if dest.exists() and dest.read_bytes() == data:
            out.append(ExportedFile(dest, False))
            continue
        atomic_write(dest, data)
        out.append(ExportedFile(dest, True))
    return out
