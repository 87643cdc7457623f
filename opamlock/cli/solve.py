"""``opamlock solve ATOM…``: solve a request and print the installation set, for comparing with opam."""

from __future__ import annotations

import json
from pathlib import Path

import click

from opamlock.cli import main
from opamlock.env import SolveFlags, host_platform, parse_var_assignments
from opamlock.errors import UsageError
from opamlock.formula import parse_atom


def _default_repositories() -> list[str]:
    """The repositories of the enclosing project's ``opamlock.toml``, if there is one."""
    from opamlock.errors import OpamlockError
    from opamlock.project import find_project, load_config

    try:
        root = find_project(Path.cwd())
    except OpamlockError:
        return []
    config = load_config(root / "opamlock.toml")
    return [r.location(root) for r in config.repositories]


@main.command("solve")
@click.argument("atoms", nargs=-1, required=True)
@click.option("--repo", "repos", multiple=True, metavar="R",
              help="A repository (folder, .tar.gz or git URL); repeat for layers, highest priority first. "
                   "Default: the repositories of the project's opamlock.toml.")
@click.option("--var", "variables", multiple=True, metavar="K=V",
              help="Set a platform variable (os, arch, …).")
@click.option("--with-test", is_flag=True, help="Include the requested packages' test dependencies.")
@click.option("--with-doc", is_flag=True, help="Include the requested packages' doc dependencies.")
@click.option("--json", "as_json", is_flag=True, help='Print {"packages": [{"name", "version"}…]}.')
def solve_command(
    atoms: tuple[str, ...],
    repos: tuple[str, ...],
    variables: tuple[str, ...],
    with_test: bool,
    with_doc: bool,
    as_json: bool,
) -> None:
    """Solve ATOMS (name, name.version, name>=1.2, …) and print the packages to install."""
    from opamlock.repository import load_universe
    from opamlock.solver import solve

    request = [parse_atom(a) for a in atoms]
    specs = list(repos) or _default_repositories()
    if not specs:
        raise UsageError("no repository to solve against", hint="pass --repo PATH, or run inside a project")
    platform = host_platform().with_overrides(parse_var_assignments(list(variables)))
    universe = load_universe(specs)
    solution = solve(universe, request, platform=platform,
                     flags=SolveFlags(with_test=with_test, with_doc=with_doc))
    names = solution.names()
    if as_json:
        packages = [{"name": n, "version": str(solution.packages[n].version)} for n in names]
        click.echo(json.dumps({"packages": packages}, indent=1))
    else:
        for n in names:
            click.echo(solution.packages[n].nv)
