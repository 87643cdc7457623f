"""``opamlock solve ATOM…``: solve a request and print the installation set, for comparing with opam."""

from __future__ import annotations

import json

import click

from opamlock.cli import main
from opamlock.cli._repos import REPO_HELP, open_universe
from opamlock.env import SolveFlags, host_platform, parse_var_assignments
from opamlock.formula import parse_atom


@main.command("solve")
@click.argument("atoms", nargs=-1, required=True)
@click.option("--repo", "repos", multiple=True, metavar="PATH_OR_URL", help=REPO_HELP)
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
    from opamlock.solver import solve

    request = [parse_atom(a) for a in atoms]
    platform = host_platform().with_overrides(parse_var_assignments(list(variables)))
    universe, _ = open_universe(repos, purpose="to solve against")
    solution = solve(universe, request, platform=platform,
                     flags=SolveFlags(with_test=with_test, with_doc=with_doc))
    names = solution.names()
    if as_json:
        packages = [{"name": n, "version": str(solution.packages[n].version)} for n in names]
        click.echo(json.dumps({"packages": packages}, indent=1))
    else:
        for n in names:
            click.echo(solution.packages[n].nv)
