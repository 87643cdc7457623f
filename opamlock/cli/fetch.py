"""``opamlock fetch``: download every source of the lock into the content-addressed store."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import click
from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from opamlock.cli import main
from opamlock.cli._options import cwd_project_option, load_project_lock, lock_option, open_store, store_option
from opamlock.fetch import FetchReport, FetchResult, Store, fetch, plan_from_lock


class _RichProgress:
    """One bar over items, with a running byte count; rich's Progress is itself thread-safe."""

    def __init__(self, progress: Progress) -> None:
        self._p = progress
        self._lock = threading.Lock()
        self._bytes = 0
        self._task = progress.add_task("fetching", total=None, bytes="0 bytes")

    def start(self, total_items: int) -> None:
        self._p.update(self._task, total=total_items)

    def advance_bytes(self, n: int) -> None:
        with self._lock:
            self._bytes += n
            text = decimal(max(self._bytes, 0))
        self._p.update(self._task, bytes=text)

    def item_done(self, result: FetchResult) -> None:
        self._p.update(self._task, advance=1, description=result.item.name)


def _summary(report: FetchReport, store: Store) -> Table:
    t = Table(title=f"store: {store.root}", title_justify="left")
    t.add_column("")
    t.add_column("files", justify="right")
    t.add_column("size", justify="right")
    t.add_row("present", str(len(report.present)), decimal(report.bytes_present))
    t.add_row("downloaded", str(len(report.downloaded)), decimal(report.bytes_downloaded))
    t.add_row("total", str(len(report.results)), decimal(report.bytes_present + report.bytes_downloaded))
    return t


@main.command("fetch")
@cwd_project_option()
@lock_option()
@store_option
@click.option("--offline", is_flag=True, help="Use only the store; fail listing whatever is missing.")
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 256), default=4, show_default=True, help="Parallel downloads."
)
def fetch_cmd(
    project: Path, lock_path: Path | None, store_dir: Path | None, offline: bool, jobs: int
) -> None:
    """Download every source of the lock, verified, into the content-addressed store."""
    from opamlock.project import CONFIG_FILENAME, load_config

    lock = load_project_lock(project, lock_path)
    config_path = project / CONFIG_FILENAME
    mirrors = load_config(config_path).mirrors if config_path.exists() else ()
    store = open_store(store_dir)
    plan = plan_from_lock(lock)

    if sys.stderr.isatty() and not offline:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[bytes]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            report = fetch(
                plan, store, jobs=jobs, offline=offline, mirrors=mirrors, progress=_RichProgress(bar)
            )
    else:
        report = fetch(plan, store, jobs=jobs, offline=offline, mirrors=mirrors)
    Console(soft_wrap=True).print(_summary(report, store))
