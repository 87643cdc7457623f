"""Mirage commands: ``check --mirage`` (is the unikernel Unix-free?) and ``audit`` (per package).

``check --mirage`` must stay fast enough for a pre-commit hook: on a locked project it reads the
lock and the project's dune files only. It never loads a repository or solves unless there is
no lock at all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from opamlock.cli import main
from opamlock.errors import OpamlockError, UsageError

_TARGETS = ("hvt", "spt", "virtio", "muen", "genode", "xen")  # mirrors opamlock.mirage.MIRAGE_TARGETS


def _project_root(project_dir: Path | None) -> Path | None:
    from opamlock.project import find_project

    if project_dir is not None:
        return project_dir.resolve()
    try:
        return find_project(Path.cwd())
    except OpamlockError:
        return None


@main.command("check")
@click.option("--mirage", "mirage", is_flag=True,
              help="Check that nothing linked into the unikernel needs Unix.")
@click.option("--target", type=click.Choice(_TARGETS), default=None,
              help="Mirage target (default: the first of [mirage] targets, else hvt).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--lock", "lock_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The lock to check (default: the project's opamlock.lock).")
@click.option("--no-source", is_flag=True, help="Do not read the project's dune files.")
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The project directory (default: the nearest one with opamlock.toml).")
def check_command(mirage: bool, target: str | None, as_json: bool, lock_path: Path | None,
                  no_source: bool, project_dir: Path | None) -> None:
    """Check the project; exit 1 when something linked into the unikernel is Unix-bound."""
    from opamlock.mirage.check import check_locked_project, mirage_table, pick_target
    from opamlock.mirage.dune_scan import scan_project
    from opamlock.mirage.rules import default_rules

    if not mirage:
        raise UsageError("say what to check", hint="opamlock check --mirage [--target hvt]")
    root = _project_root(project_dir)
    if root is None and lock_path is None:
        raise OpamlockError("no opamlock.toml here or above, and no --lock given",
                            hint="run inside a project, or pass --lock PATH")
    report = check_locked_project(root, target=target, lock_path=lock_path, source=not no_source)
    if report is None:
        assert root is not None
        table = mirage_table(root)
        rules = default_rules().with_project(table)
        source = scan_project(root, rules) if not no_source else []
        report = _check_by_solving(root, rules, pick_target(target, table), source)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(report.render())
    if not report.ok:
        sys.exit(1)


def _check_by_solving(root: Path, rules: Any, target: str, source: Any) -> Any:
    """No lock yet: solve the project for the target, Mirage-aware, and check that set."""
    from dataclasses import replace

    from opamlock.formula import Atom, VConstraint
    from opamlock.locking import ProjectUniverse, open_repositories
    from opamlock.mirage.audit import avoid_predicate
    from opamlock.mirage.check import check_nodes, nodes_from_solution
    from opamlock.project import load_project
    from opamlock.repository import Universe
    from opamlock.solver import solve
    from opamlock.version import OpamVersion

    project = load_project(root)
    config = project.config
    repos = open_repositories(project)
    universe = ProjectUniverse(
        Universe([r.repository for r in repos]),
        [p.package for p in project.packages],
        narrow=(*config.constraints, *(Atom(n, VConstraint("=", OpamVersion(v))) for n, v in config.pins)),
    )
    platform = rules.target_platform(target)
    request = [Atom(p.name, VConstraint("=", p.package.version)) for p in project.packages]
    sol = solve(universe, request, platform=platform, flags=config.flags,
                avoid=avoid_predicate(universe, target, rules))
    own = [p.name for p in project.packages]
    nodes, roots = nodes_from_solution(sol, platform, universe=universe, roots=own)
    report = check_nodes(nodes, roots, rules, target=target, own=own, source=source)
    return replace(report, solved=True)


def _default_repositories() -> list[str]:
    from opamlock.project import find_project, load_config

    try:
        root = find_project(Path.cwd())
    except OpamlockError:
        return []
    config = load_config(root / "opamlock.toml")
    return [r.location(root) for r in config.repositories]


@main.command("audit")
@click.argument("packages", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Audit the newest version of every package.")
@click.option("--target", type=click.Choice(_TARGETS), default="hvt", show_default=True)
@click.option("--repo", "repos", multiple=True, metavar="R",
              help="A repository (folder, .tar.gz or git URL); repeat for layers, highest priority first "
                   "(e.g. opam-overlays, then opam-repository). Default: the project's repositories.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md", "html"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of standard output.")
def audit_command(packages: tuple[str, ...], all_: bool, target: str, repos: tuple[str, ...], fmt: str,
                  output: Path | None) -> None:
    """Judge PKG[.VERSION]… (or --all) for a Mirage target: compatible, incompatible or unknown.

    Exits 1 when a package named on the command line is incompatible (a gate for CI);
    --all only reports.
    """
    from opamlock.formula import VConstraint, parse_atom
    from opamlock.mirage.audit import Auditor
    from opamlock.mirage.check import mirage_table
    from opamlock.mirage.report import render
    from opamlock.mirage.rules import default_rules
    from opamlock.repository import load_universe
    from opamlock.version import OpamVersion

    if all_ and packages:
        raise UsageError("give packages or --all, not both")
    if not all_ and not packages:
        raise UsageError("name packages to audit", hint="opamlock audit tcpip cohttp-mirage, or --all")
    specs = list(repos) or _default_repositories()
    if not specs:
        raise UsageError("no repository to audit", hint="pass --repo PATH (repeat for layers)")
    root = _project_root(None)
    rules = default_rules().with_project(mirage_table(root) if root is not None and not repos else {})
    universe = load_universe(specs)
    auditor = Auditor(universe, target=target, rules=rules)
    wanted: list[tuple[str, OpamVersion | None]] | None = None
    if not all_:
        wanted = []
        for text in packages:
            atom = parse_atom(text)
            if isinstance(atom.vf, VConstraint) and atom.vf.op == "=":
                if atom.name in universe and atom.vf.version not in universe.versions(atom.name):
                    raise OpamlockError(f"{atom.name}.{atom.vf.version} is not in the repositories",
                                        hint=f"`opamlock show {atom.name}` lists its versions")
                wanted.append((atom.name, atom.vf.version))
            else:
                wanted.append((atom.name, None))
    verdicts = auditor.audit(wanted)
    text = render(verdicts, fmt, target=target)
    if output is not None:
        from opamlock.atomicfile import atomic_write

        atomic_write(output, text.encode("utf-8"))
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
    if not all_ and any(v.verdict == "incompatible" for v in verdicts):
        sys.exit(1)
