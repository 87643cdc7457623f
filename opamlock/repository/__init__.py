"""Loading opam repositories (folder, archive, git commit), cached by identity, and layering them.

    >>> repo = load_repository("opam-repository.tar.gz")  # doctest: +SKIP
    >>> universe = Universe([overlays, repo])  # doctest: +SKIP

A repository's *identity* names its content: ``git:<commit>`` for git, ``sha256:<hash>`` over the
opam files and ``files/`` of a folder or archive. The index built from a load is cached under that
identity, so loading the same content again (from any location) costs a table read, not a parse.
Apart from the identity, :attr:`Repository.commit` and :attr:`Repository.commit_time` say which
commit the content was taken from, when that is known: always for git, for a tarball that
``git archive`` made (its pax header names the commit), never for a plain folder.
Opam files that do not parse are skipped, as opam skips them, and kept in
:attr:`Repository.problems` with ``file:line:col``; ``strict=True`` makes them an error.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from opamlock.errors import LocatedError
from opamlock.repository import _parse
from opamlock.repository.index import Index, IndexCache, build_index, default_cache_dir
from opamlock.repository.source import (
    LoadProblem,
    Provenance,
    RepositoryError,
    Source,
    content_identity,
    open_source,
)
from opamlock.repository.universe import Collision, Repository, Universe

__all__ = [
    "Collision",
    "LoadProblem",
    "Provenance",
    "Repository",
    "RepositoryError",
    "RepositoryParseError",
    "Universe",
    "default_cache_dir",
    "load_repository",
    "load_universe",
]

#: Loads with fewer files than this never show a progress bar.
_PROGRESS_MIN = 2000


class RepositoryParseError(LocatedError):
    """A strict load met an opam file that does not parse."""


@contextmanager
def _bar(total: int, what: str) -> Iterator[Callable[[int], None]]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic collector over a bulk of acyclic allocations (reading ~19,000 packages,
    laying out their index). Not around the parse: worker processes forked meanwhile would
    inherit a paused collector, and they measured slower that way."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _index_for(source: Source, cache: IndexCache, progress: bool | None) -> tuple[Index, Provenance]:
    """Find or build the index of ``source``: known identity, then fingerprint, then content.

    Also returns the source's provenance: a commit identity's index holds it; for content
    identities it comes from the location record, or from reading the source.
    """
    location_key = _location_key(source)
    identity = source.known_identity()
    by_commit = identity is not None
    provenance: Provenance | None = None
    if identity is None:
        rec = cache.location_record(source.kind, location_key)
        if rec is not None:
            fingerprint = source.fingerprint(rec.record)
            if fingerprint is not None and fingerprint == rec.fingerprint:
                identity, provenance = rec.identity, rec.provenance
    if identity is not None:
        idx = cache.load(identity)
        if idx is not None:
            if provenance is None:  # a commit identity
                provenance = idx.provenance if idx.provenance.commit else source.provenance()
            return idx, provenance
    with _gc_paused():
        raw, problems, record = source.read()
    provenance = source.provenance()
    if identity is None:
        identity = content_identity(raw)
        fingerprint = source.fingerprint(record)
        if fingerprint is not None:
            cache.save_location(source.kind, location_key, fingerprint, identity, record, provenance)
        idx = cache.load(identity)
        if idx is not None:
            return idx, provenance
    show = progress if progress is not None else (sys.stderr.isatty() and len(raw) >= _PROGRESS_MIN)
    items = [(p.opam, f"{source.location}/{p.relpath}/opam") for p in raw]
    if show:
        parsed = _parse.parse_all(items, progress=lambda n: _bar(n, f"parsing {source.location}"))
    else:
        parsed = _parse.parse_all(items)
    with _gc_paused():
        idx = build_index(identity, raw, parsed, problems, provenance if by_commit else Provenance())
        saved = cache.save(idx)
    if saved:
        # Re-open what was written, so the fresh load and later ones share one (mapped) layout.
        reread = cache.load(identity)
        if reread is not None:
            return reread, provenance
    return idx, provenance


def _location_key(source: Source) -> str:
    path = getattr(source, "root", None) or getattr(source, "path", None)
    return str(Path(path).resolve()) if path is not None else source.location


def load_repository(
    spec: str | os.PathLike[str],
    *,
    name: str | None = None,
    commit: str | None = None,
    cache_dir: Path | None = None,
    progress: bool | None = None,
    strict: bool = False,
) -> Repository:
    """Load the repository ``spec`` names: a folder holding ``packages/``, a ``.tar.gz``/``.tgz``
    (one top folder, as ``git archive`` writes), or git (``git+file://…``, ``git+https://…``,
    ``git+URL#commit``, or a local git repository with ``commit``).

    ``progress`` None shows a bar only on a terminal, for big loads.
    """
    cache = IndexCache(cache_dir)
    source = open_source(spec, commit, cache.directory.parent / "git")
    idx, provenance = _index_for(source, cache, progress)
    repo = Repository(idx, name=name or source.default_name(), location=os.fspath(spec), kind=source.kind,
                      commit=provenance.commit, commit_time=provenance.commit_time)
    if strict and repo.problems:
        p = repo.problems[0]
        more = f" (and {len(repo.problems) - 1} more)" if len(repo.problems) > 1 else ""
        raise RepositoryParseError(p.message + more, filename=p.path, line=p.line, col=p.col)
    return repo


def load_universe(
    specs: Sequence[str | os.PathLike[str]],
    *,
    cache_dir: Path | None = None,
    progress: bool | None = None,
    strict: bool = False,
) -> Universe:
    """Load each repository (highest priority first) and layer them."""
    if not specs:
        raise RepositoryError("no repository given",
                              hint="pass --repo PATH_OR_URL, or list repositories in opamlock.toml")
    return Universe([load_repository(s, cache_dir=cache_dir, progress=progress, strict=strict)
                     for s in specs])
