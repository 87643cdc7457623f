"""Project commands: ``init``, ``lock``, ``export``, ``diff``, ``why`` and ``tree``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from opamlock.cli import main
from opamlock.cli._options import load_project_lock, project_root, search_project_option
from opamlock.errors import OpamlockError, UsageError

# -- init -------------------------------------------------------------------------------------


def _repo_spec(text: str, root: Path) -> Any:
    """``[NAME=]URL#COMMIT`` (git) or ``[NAME=]PATH`` (local folder or archive, hashed now)."""
    import os

    from opamlock.project import RepositorySpec
    from opamlock.repository import load_repository

    name, eq, spec = text.partition("=")
    if not eq or "/" in name or ":" in name:
        name, spec = "", text
    if "://" in spec:
        url, _, commit = spec.partition("#")
        if not commit:
            raise UsageError(f"--repo {text}: a URL repository must be pinned: URL#COMMIT",
                             hint="e.g. --repo git+https://github.com/ocaml/opam-repository.git#<40 hex>")
        repo = load_repository(url, name=name or None, commit=commit)
        return RepositorySpec(name=name or repo.name, url=url, commit=commit)
    path = Path(spec)
    absolute = path if path.is_absolute() else (root / path)
    rel = os.path.relpath(absolute.resolve(), root)
    repo = load_repository(str(absolute), name=name or None)
    return RepositorySpec(name=name or repo.name, path=Path(rel).as_posix(), hash=str(repo.identity))


@main.command("init")
@click.option("--repo", "repos", multiple=True, metavar="[NAME=]URL#COMMIT|PATH",
              help="A repository, highest priority first (repeat for layers). A local folder or "
                   "archive (relative to the project) is pinned by its content hash, a git URL by "
                   "its commit.")
@click.option("--platform", "platforms", multiple=True, metavar="OS-ARCH",
              help="A platform to solve for, e.g. linux-x86_64 or macos-arm64 (repeat). "
                   "Default: this machine.")
@click.option("--target", "targets", multiple=True, help="A Mirage target (hvt, spt, virtio, xen…).")
@click.option("--force", is_flag=True, help="Overwrite an existing opamlock.toml.")
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              help="The project directory (default: the current directory).")
def init_command(repos: tuple[str, ...], platforms: tuple[str, ...], targets: tuple[str, ...],
                 force: bool, project_dir: Path) -> None:
    """Write opamlock.toml for the OCaml project here: its repositories, platforms and settings."""
    from opamlock.env import host_platform
    from opamlock.project import init_project, opam_files

    root = project_dir.resolve()
    if not repos:
        raise UsageError("say which repositories to solve against",
                         hint="--repo PATH_OR_URL#COMMIT, e.g. --repo ../opam-repository")
    if not opam_files(root):
        click.echo(f"opamlock: warning: no *.opam file in {root} yet; `opamlock lock` needs one", err=True)
    plats = []
    host = host_platform()
    for p in platforms:
        os_name, dash, arch = p.partition("-")
        if not dash or not arch:
            raise UsageError(f"--platform {p}: expected OS-ARCH", hint="e.g. linux-x86_64 or macos-arm64")
        if (os_name, arch) == (host.vars.get("os"), host.vars.get("arch")):
            plats.append(host)
        else:
            from opamlock.project import parse_config

            # Reuse the config reader's defaults for a platform given only by os and arch.
            cfg = parse_config(f'[[repository]]\nname = "x"\npath = "."\n[solve]\n'
                               f'platforms = [{{ os = "{os_name}", arch = "{arch}" }}]\n')
            assert cfg.platforms is not None
            plats.extend(cfg.platforms)
    specs = [_repo_spec(r, root) for r in repos]
    path = init_project(root, repositories=specs, platforms=plats or None, force=force,
                        mirage_targets=targets)
    click.echo(f"wrote {path}")


# -- lock -------------------------------------------------------------------------------------


@main.command("lock")
@click.option("--upgrade", is_flag=True, help="Re-solve everything for the newest versions that fit.")
@click.option("--upgrade-package", "upgrade_packages", multiple=True, metavar="P",
              help="Re-solve P and what it needs; keep the rest as locked (repeat).")
@click.option("--check", is_flag=True,
              help="Exit 1 without writing if opamlock.lock is missing or stale, "
                   "naming what changed (for CI).")
@click.option("--var", "variables", multiple=True, metavar="K=V",
              help="Override a platform variable (repeat).")
@click.option("--target", "targets", multiple=True,
              help="Mirage target(s) to lock for, instead of [mirage] targets.")
@search_project_option
def lock_command(upgrade: bool, upgrade_packages: tuple[str, ...], check: bool,
                 variables: tuple[str, ...], targets: tuple[str, ...], project_dir: Path | None) -> None:
    """Solve the project for every platform and write opamlock.lock (only if it changed)."""
    from opamlock.env import parse_var_assignments
    from opamlock.lockdiff import diff_locks, render_diff
    from opamlock.locking import LockOptions, check_lock, lock_project
    from opamlock.project import load_project

    if upgrade and upgrade_packages:
        raise UsageError("--upgrade already re-solves every package; drop --upgrade-package")
    if check and (upgrade or upgrade_packages):
        raise UsageError("--check never solves; it cannot be combined with --upgrade")
    options = LockOptions(
        upgrade=upgrade,
        upgrade_packages=upgrade_packages,
        var_overrides=parse_var_assignments(list(variables)),  # a usage error before any file is read
        targets=targets or None,
    )
    project = load_project(project_root(project_dir))
    if check:
        fresh = check_lock(project, options)
        if fresh.fresh:
            click.echo("opamlock.lock is up to date")
            return
        click.echo("opamlock.lock is out of date:", err=True)
        for r in fresh.reasons:
            click.echo(f"  - {r}", err=True)
        click.echo("hint: run `opamlock lock` and commit opamlock.lock", err=True)
        sys.exit(1)
    result = lock_project(project, options)
    for note in result.notes:
        click.echo(f"opamlock: note: {note}", err=True)
    lock = result.lock
    counts = ", ".join(f"{p} ({len(lock.packages_for(p))} packages)" for p in lock.platform_names)
    if not result.changed:
        click.echo(f"opamlock.lock is unchanged: {counts}")
        return
    click.echo(f"wrote opamlock.lock: {counts}")
    if result.previous is not None:
        for line in render_diff([d for d in diff_locks(result.previous, lock) if not d.empty]):
            click.echo(line)


# -- export -----------------------------------------------------------------------------------


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["opam-locked"]), default="opam-locked", show_default=True,
              help="opam-locked: <pkg>.opam.locked files for `opam install . --locked`.")
@click.option("--platform", default=None, help="Which platform of the lock to export (default: the first).")
@search_project_option
def export_command(fmt: str, platform: str | None, project_dir: Path | None) -> None:
    """Write <pkg>.opam.locked for each of the project's packages from opamlock.lock."""
    from opamlock.export import export_opam_locked

    root = project_root(project_dir)
    lock = load_project_lock(root)
    for f in export_opam_locked(root, lock, platform=platform):
        click.echo(f"{'wrote' if f.changed else 'unchanged'} {f.path.relative_to(root)}")


# -- diff / why / tree ------------------------------------------------------------------------


@main.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--plain", is_flag=True, help="Plain text even on a terminal.")
def diff_command(old: Path, new: Path, plain: bool) -> None:
    """Show the packages added, removed, upgraded and downgraded between two locks."""
    from opamlock.lockdiff import diff_locks, render_diff
    from opamlock.lockfile import load

    diffs = diff_locks(load(old), load(new))
    if plain or not sys.stdout.isatty():
        for line in render_diff(diffs):
            click.echo(line)
        return
    from rich.console import Console
    from rich.table import Table

    styles = {"added": "green", "removed": "red", "upgraded": "cyan", "downgraded": "yellow"}
    table = Table("platform", "change", "package", "old", "new")
    for d in diffs:
        for change, n, a, b in d.rows():
            style = styles.get(change)
            table.add_row(d.platform, f"[{style}]{change}[/]" if style else change, n, a, b)
    if table.row_count:
        Console().print(table)
    else:
        click.echo("no change")


@main.command("why")
@click.argument("package")
@click.option("--platform", default=None, help="Which platform of the lock (default: the first).")
@click.option("--runtime", is_flag=True, help="Follow runtime edges only.")
@search_project_option
def why_command(package: str, platform: str | None, runtime: bool, project_dir: Path | None) -> None:
    """Show every shortest dependency path from the project's packages to PACKAGE."""
    from opamlock.graph import render_path, why

    lock = load_project_lock(project_root(project_dir))
    paths = why(lock, package, platform, kinds={"runtime"} if runtime else None)
    if not paths:
        raise OpamlockError(f"no path from the project's packages reaches {package}"
                            + (" through runtime edges" if runtime else ""))
    for p in paths:
        click.echo(render_path(p))


@main.command("tree")
@click.option("--platform", default=None, help="Which platform of the lock (default: the first).")
@click.option("--all-kinds", is_flag=True, help="Include build, post, test and doc edges, not only runtime.")
@search_project_option
def tree_command(platform: str | None, all_kinds: bool, project_dir: Path | None) -> None:
    """Show the locked dependency tree of the project's packages (runtime edges by default)."""
    from opamlock.graph import DEFAULT_TREE_KINDS, tree_lines

    lock = load_project_lock(project_root(project_dir))
    for line in tree_lines(lock, platform, None if all_kinds else DEFAULT_TREE_KINDS):
        click.echo(line)
