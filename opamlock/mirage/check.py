"""``opamlock check --mirage``: is anything linked into the unikernel Unix-bound?

It judges a concrete set, the lock's (or a fresh solution's), so unlike the audit it needs no
fixpoint: build the runtime graph from the chosen edges, walk it from the project's roots, and
report every linked package that carries a marker, with its shortest chain, the portable sibling
and the exact ``opamlock.toml`` lines that would silence it deliberately. opam-monorepo's own
rules (dune builds, the ``cross-compile`` tag) give warnings, which do not fail the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from opamlock.errors import OpamlockError
from opamlock.mirage.dune_scan import SourceFinding
from opamlock.mirage.graph import LinkNode, RuntimeGraph
from opamlock.mirage.rules import Rules

__all__ = [
    "CheckReport", "Finding", "InvalidLockShape", "MonorepoWarning", "check_graph", "check_nodes",
    "nodes_from_lock", "nodes_from_solution", "read_lock_nodes",
]


class InvalidLockShape(OpamlockError):
    """``opamlock.lock`` is not shaped as docs/lockfile.md says."""


_NOT_DUNE = "does not build with dune (opam-monorepo cannot vendor it)"


@dataclass(frozen=True)
class Finding:
    """One Unix-bound package linked into the unikernel."""

    package: str  # name.version
    chain: tuple[str, ...]
    markers: tuple[str, ...]
    sibling: str | None
    silence: str
    inherited_by: int = 0

    def render(self) -> str:
        lines = [f"error: {self.package} is Unix-bound: " + "; ".join(self.markers)]
        lines.append("  chain: " + " → ".join(self.chain))
        if self.sibling:
            lines.append(f"  portable sibling: {self.sibling}")
        lines.append("  to accept it deliberately, add to opamlock.toml:")
        lines.extend("    " + s for s in self.silence.splitlines())
        return "\n".join(lines)


@dataclass(frozen=True)
class MonorepoWarning:
    package: str
    message: str

    def render(self) -> str:
        return f"warning: {self.package} {self.message}"


@dataclass(frozen=True)
class CheckReport:
    target: str
    linked: tuple[str, ...]
    findings: tuple[Finding, ...]
    warnings: tuple[MonorepoWarning, ...] = ()
    source: tuple[SourceFinding, ...] = field(default=())
    solved: bool = False  # true when there was no lock and opamlock solved instead

    @property
    def ok(self) -> bool:
        return not self.findings and not self.source

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "solved": self.solved,
            "linked": list(self.linked),
            "findings": [asdict(f) for f in self.findings],
            "source": [asdict(s) for s in self.source],
            "warnings": [asdict(w) for w in self.warnings],
        }

    def render(self) -> str:
        out = [f.render() for f in self.findings]
        out += [s.render() for s in self.source]
        out += [w.render() for w in self.warnings]
        verdict = "ok" if self.ok else "FAILED"
        n = len(self.findings) + len(self.source)
        out.append(
            f"mirage check ({self.target}): {verdict}: {len(self.linked)} linked packages, "
            f"{n} error(s), {len(self.warnings)} warning(s)"
        )
        return "\n".join(out)


def _silence(names: Sequence[str], culprit: str) -> str:
    lines = ["[mirage.allow]", f'"{culprit}" = "<why linking it is safe>"']
    if len(names) >= 2:
        lines += [
            "# or excuse only the edge that brings it in:",
            "[[mirage.allow-edge]]",
            f'from = "{names[-2]}"',
            f'to = "{culprit}"',
            'reason = "<why this edge links nothing Unix-bound>"',
        ]
    return "\n".join(lines)


def check_graph(graph: RuntimeGraph, *, target: str, source: Iterable[SourceFinding] = ()) -> CheckReport:
    linked = graph.linked()
    findings: list[Finding] = []
    warnings: list[MonorepoWarning] = []
    for name in linked:
        node = graph.nodes[name]
        markers = graph.markers(name)
        if markers:
            chain = graph.chain(name)
            findings.append(
                Finding(
                    package=node.nv,
                    chain=chain,
                    markers=tuple(str(m) for m in markers),
                    sibling=graph.rules.sibling(name),
                    silence=_silence(_names_of(graph, chain), name),
                    inherited_by=graph.reverse_count(name),
                )
            )
        if name in graph.own:
            continue
        if node.dune is False:
            warnings.append(MonorepoWarning(node.nv, _NOT_DUNE))
        if node.cross_compile_required and not node.cross_compile_tagged:
            warnings.append(
                MonorepoWarning(node.nv, "lacks the cross-compile tag that other versions of it carry")
            )
    findings.sort(key=lambda f: (len(f.chain), f.package))
    return CheckReport(target, tuple(linked), tuple(findings), tuple(warnings), tuple(source))


def _names_of(graph: RuntimeGraph, chain: Sequence[str]) -> list[str]:
    by_nv = {n.nv: n.name for n in graph.nodes.values()}
    return [by_nv[c] for c in chain if c in by_nv]


# -- building the nodes -----------------------------------------------------------------------


def nodes_from_lock(lock: Any, platform_name: str | None = None) -> tuple[list[LinkNode], list[str]]:
    """Nodes and roots from an ``opamlock.lockfile.Lock``, for one of its platforms.

    The lock already records the chosen edges with their kind and the depexts filtered for its
    platform, so the check reads nothing else: no repository, no solve.
    """
    plats = [p.name for p in lock.platforms]
    plat = platform_name if platform_name in plats else plats[0]

    def on(rec: Any) -> bool:
        return not rec.platforms or plat in rec.platforms

    nodes: list[LinkNode] = []
    roots: list[str] = []
    for r in lock.roots:
        if on(r):
            roots.append(r.name)
            nodes.append(LinkNode(r.name, r.version, tuple((d.name, d.kind) for d in r.depends)))
    for p in lock.packages:
        if not on(p):
            continue
        dune: bool | None = None
        if p.source is not None:
            dune = any(c and c[0] in ("dune", "jbuilder") for c in p.build) or any(
                d.name in ("dune", "jbuilder") for d in p.depends
            )
        nodes.append(
            LinkNode(
                p.name, p.version, tuple((d.name, d.kind) for d in p.depends), tuple(p.depexts),
                p.repository, dune,
            )
        )
    return nodes, roots


def read_lock_nodes(
    path: Path, platform_name: str | None = None
) -> tuple[list[LinkNode], list[str], list[str]]:
    """Nodes, roots and the project's own names straight from ``opamlock.lock`` (docs/lockfile.md).

    This is the pre-commit path: the stdlib TOML reader is about ten times faster to import and
    run than the round-tripping one the lock writer needs, and the check only reads. A lock that
    does not have the documented shape raises :class:`InvalidLockShape` naming the field.
    """
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpamlockError(f"{path}: no lock file", hint="create it with `opamlock lock`") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InvalidLockShape(f"{path}: cannot read the lock: {e}",
                               hint="the lock is generated; re-create it with `opamlock lock`") from e
    if data.get("lock-version") != 1:
        raise InvalidLockShape(f"{path}: lock-version {data.get('lock-version')!r} is not 1",
                               hint="re-create it with this opamlock: `opamlock lock`")
    try:
        plats = [p["name"] for p in data.get("platform", [])]
        plat = platform_name if platform_name in plats else (plats[0] if plats else None)

        def on(rec: dict[str, Any]) -> bool:
            pl = rec.get("platforms", [])
            return not pl or plat in pl

        def deps(rec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
            return tuple((d["name"], d.get("kind", "runtime")) for d in rec.get("depends", []))

        nodes: list[LinkNode] = []
        roots: list[str] = []
        for r in data.get("root", []):
            if on(r):
                roots.append(r["name"])
                nodes.append(LinkNode(r["name"], str(r.get("version", "")), deps(r)))
        for p in data.get("package", []):
            if not on(p):
                continue
            d = deps(p)
            dune: bool | None = None
            if p.get("source") is not None:
                build = p.get("commands", {}).get("build", [])
                dune = any(c and c[0] in ("dune", "jbuilder") for c in build) or any(
                    n in ("dune", "jbuilder") for n, _ in d
                )
            nodes.append(LinkNode(p["name"], str(p["version"]), d, tuple(p.get("depexts", [])),
                                  p.get("repository", ""), dune))
    except (KeyError, TypeError, AttributeError) as e:
        raise InvalidLockShape(f"{path}: a record lacks a field or has the wrong type ({e})",
                               hint="re-create it with `opamlock lock`") from e
    return nodes, roots, list(roots)


def nodes_from_solution(
    solution: Any, platform: Any, *, universe: Any = None, roots: Sequence[str] | None = None
) -> tuple[list[LinkNode], list[str]]:
    """Nodes and roots from an ``opamlock.solver.Solution``, depexts evaluated for ``platform``.

    With the universe at hand, the ``cross-compile`` tag rule is checked too: it needs every
    version of a name, which a lock does not record.
    """
    from opamlock.mirage.classify import builds_with_dune, has_cross_compile_tag, target_env

    nodes: list[LinkNode] = []
    for name, pkg in solution.packages.items():
        atoms = tuple((a.name, a.kind) for a in solution.edges.get(name, ()))
        required, tagged = False, True
        if universe is not None and name in set(universe.names()):
            required = any(has_cross_compile_tag(universe.package(name, v)) for v in universe.versions(name))
            tagged = has_cross_compile_tag(pkg)
        dune = builds_with_dune(pkg, platform) if pkg.url is not None else None
        nodes.append(
            LinkNode(
                name, str(pkg.version), atoms, pkg.depexts(target_env(platform, pkg)), pkg.repository,
                dune, required, tagged,
            )
        )
    root_names = list(roots) if roots is not None else [a.name for a in solution.request]
    return nodes, root_names


def check_nodes(
    nodes: Iterable[LinkNode], roots: Sequence[str], rules: Rules, *, target: str,
    own: Iterable[str] = (), source: Iterable[SourceFinding] = (),
) -> CheckReport:
    """``own``: the project's own packages among the roots (see :class:`RuntimeGraph`)."""
    return check_graph(RuntimeGraph(nodes, roots, rules, own=own), target=target, source=source)


# -- a project, end to end (shared by the CLI and the pre-commit entry point) ----------------------


def mirage_table(root: Path) -> dict[str, Any]:
    """The ``[mirage]`` table of ``opamlock.toml``, read with the fast stdlib reader."""
    import tomllib

    path = root / "opamlock.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise OpamlockError(
            f"cannot read {path}: {e}",
            hint="see https://toml.io for the syntax; `opamlock init --force` writes a fresh file",
        ) from e
    table = data.get("mirage", {})
    if not isinstance(table, dict):
        raise OpamlockError(f"{path}: [mirage] must be a table", hint="write it as [mirage] with keys below")
    return table


def pick_target(target: str | None, table: dict[str, Any]) -> str:
    """``--target``, else the first of ``[mirage] targets``, else hvt."""
    if target:
        return target
    targets = table.get("targets") or []
    return str(targets[0]) if targets else "hvt"


def check_locked_project(
    root: Path | None, *, target: str | None = None, lock_path: Path | None = None, source: bool = True
) -> CheckReport | None:
    """Check the project's lock (and dune files); ``None`` when there is no lock to read."""
    from opamlock.mirage.dune_scan import scan_project
    from opamlock.mirage.rules import default_rules

    table = mirage_table(root) if root is not None else {}
    rules = default_rules().with_project(table)
    tgt = pick_target(target, table)
    lock_file = lock_path or (root / "opamlock.lock" if root is not None else None)
    if lock_file is None or not lock_file.exists():
        if lock_path is not None:
            raise OpamlockError(f"{lock_path}: no lock file", hint="create it with `opamlock lock`")
        return None
    found = scan_project(root, rules) if root is not None and source else []
    nodes, roots, own = read_lock_nodes(lock_file, f"mirage-{tgt}")
    return check_nodes(nodes, roots, rules, target=tgt, own=own, source=found)
