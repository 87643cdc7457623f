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
from opamlock.cli._options import enclosing_project, lock_option, search_project_option
from opamlock.cli._repos import REPO_HELP, open_universe, require_package
from opamlock.errors import OpamlockError, UsageError

_TARGETS = ("hvt", "spt", "virtio", "muen", "genode", "xen")  # mirrors opamlock.mirage.MIRAGE_TARGETS


@main.command("check")
@click.option("--mirage", "mirage", is_flag=True,
              help="Check that nothing linked into the unikernel needs Unix.")
@click.option("--target", type=click.Choice(_TARGETS), default=None,
              help="Mirage target (default: the first of [mirage] targets, else hvt).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@lock_option(help="The lock to check (default: the project's opamlock.lock).")
@click.option("--no-source", is_flag=True, help="Do not read the project's dune files.")
@search_project_option
def check_command(mirage: bool, target: str | None, as_json: bool, lock_path: Path | None,
                  no_source: bool, project_dir: Path | None) -> None:
    """Check the project; exit 1 when something linked into the unikernel is Unix-bound."""
    from opamlock.mirage.check import check_locked_project

    if not mirage:
        raise UsageError("say what to check", hint="opamlock check --mirage [--target hvt]")
    root = project_dir.resolve() if project_dir is not None else enclosing_project()
    if root is None and lock_path is None:
        raise OpamlockError("no opamlock.toml here or above, and no --lock given",
                            hint="run inside a project, or pass --lock PATH")
    report = check_locked_project(root, target=target, lock_path=lock_path, source=not no_source)
    if report is None:
        assert root is not None
        report = _check_by_solving(root, target, source=not no_source)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(report.render())
    if not report.ok:
        sys.exit(1)


def _check_by_solving(root: Path, target: str | None, *, source: bool) -> Any:
    """No lock yet: solve the project for the target, Mirage-aware, and check that set."""
    from dataclasses import replace

    from opamlock.locking import open_repositories, project_universe, root_request
    from opamlock.mirage.audit import avoid_predicate
    from opamlock.mirage.check import check_nodes, nodes_from_solution, pick_target
    from opamlock.mirage.dune_scan import scan_project
    from opamlock.mirage.rules import default_rules
    from opamlock.project import load_project
    from opamlock.solver import solve

    project = load_project(root)  # its [mirage] table is the one check_locked_project read
    table = dict(project.config.mirage)
    rules = default_rules().with_project(table)
    target = pick_target(target, table)
    found = scan_project(root, rules) if source else []
    universe = project_universe(project, open_repositories(project))
    platform = rules.target_platform(target)
    sol = solve(universe, root_request(project), platform=platform, flags=project.config.flags,
                avoid=avoid_predicate(universe, target, rules))
    own = [p.name for p in project.packages]
    nodes, roots = nodes_from_solution(sol, platform, universe=universe, roots=own)
    report = check_nodes(nodes, roots, rules, target=target, own=own, source=found)
    return replace(report, solved=True)


@main.command("audit")
@click.argument("packages", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Audit the newest version of every package.")
@click.option("--target", type=click.Choice(_TARGETS), default="hvt", show_default=True)
@click.option("--repo", "repos", multiple=True, metavar="PATH_OR_URL",
              help=REPO_HELP + " E.g. opam-overlays, then opam-repository.")
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
    from opamlock.mirage.report import render
    from opamlock.mirage.rules import default_rules
    from opamlock.version import OpamVersion

    if all_ and packages:
        raise UsageError("give packages or --all, not both")
    if not all_ and not packages:
        raise UsageError("name packages to audit", hint="opamlock audit tcpip cohttp-mirage, or --all")
    universe, config = open_universe(repos, purpose="to audit")
    rules = default_rules().with_project(config.mirage if config is not None else {})
    auditor = Auditor(universe, target=target, rules=rules)
    wanted: list[tuple[str, OpamVersion | None]] | None = None
    if not all_:
        wanted = []
        for text in packages:
            atom = parse_atom(text)
            require_package(universe, atom.name)
            if isinstance(atom.vf, VConstraint) and atom.vf.op == "=":
                if atom.vf.version not in universe.versions(atom.name):
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
