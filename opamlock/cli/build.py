"""``opamlock build``: the hermetic, sandboxed, offline build of the locked project."""

from __future__ import annotations

from pathlib import Path

import click

from opamlock.build import build as run_build
from opamlock.cli import main
from opamlock.cli._options import cwd_project_option, load_project_lock, lock_option, open_store, store_option
from opamlock.errors import UsageError


def _repo_overrides(values: tuple[str, ...]) -> dict[str, Path]:
    out = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--repo expects NAME=PATH, not {v!r}")
        out[name] = Path(path)
    return out


@main.command("build")
@cwd_project_option()
@lock_option()
@click.option(
    "--build-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to build (default: PROJECT/_opamlock/build); emptied first.",
)
@store_option
@click.option("--platform", default=None, help="Which of the lock's platforms to build.")
@click.option(
    "--repo",
    "repos",
    multiple=True,
    metavar="NAME=PATH",
    help="A local checkout of a locked repository that is not a local path in the lock.",
)
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=2, show_default=True)
def build_cmd(
    project: Path,
    lock_path: Path | None,
    build_dir: Path | None,
    store_dir: Path | None,
    platform: str | None,
    repos: tuple[str, ...],
    jobs: int,
) -> None:
    """Build the locked project offline from the store, every step sandboxed."""
    repo_dirs = _repo_overrides(repos)  # a usage error before any file is read
    result = run_build(
        load_project_lock(project, lock_path),
        project=project,
        store=open_store(store_dir),
        build_dir=build_dir or project / "_opamlock" / "build",
        repo_dirs=repo_dirs,
        platform=platform,
        jobs=jobs,
        on_phase=lambda name: click.echo(f"== {name}", err=True),
    )
    click.echo(f"installed with opam: {', '.join(result.installed) or '(nothing)'}")
    if result.duniverse:
        click.echo(f"vendored in duniverse/: {', '.join(result.duniverse)}")
    for p in result.phases:
        click.echo(f"  {p.name:<18} {p.seconds:8.2f} s")
    click.echo(f"  {'total':<18} {result.total_seconds:8.2f} s")
    click.echo(f"logs: {result.logs}")
    if result.artifact is not None:
        click.echo(f"artifact: {result.artifact}")
