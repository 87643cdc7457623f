"""Fetching a plan into the store: sources in order, in parallel, all failures reported at once.

For each item the sources are tried in this order: the lock's URL, the lock's ``mirrors``, then
each configured mirror in opam's archive-cache layout ``<mirror>/cache/<algo>/<2 hex>/<hex>``
(one URL per checksum, strongest first). A checksum mismatch from one source does not stop the
others from being tried; if none succeeds the mismatch is what gets reported, since it is the
more alarming news.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import requests

from opamlock.fetch.checksum import Checksum
from opamlock.fetch.download import FetchSettings, SourceUnavailable, fetch_url, make_session
from opamlock.fetch.errors import ChecksumMismatch, DownloadFailed, FetchError, FetchFailed, OfflineMissing
from opamlock.fetch.plan import FetchItem, FetchPlan
from opamlock.fetch.store import GitCommit, Store, StoreKey

Status = Literal["present", "downloaded"]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Where one item is now. ``url`` is the source that served it (None if already present)."""

    item: FetchItem
    status: Status
    path: Path
    url: str | None
    size: int


@dataclass(frozen=True, slots=True)
class FetchReport:
    results: tuple[FetchResult, ...]

    @property
    def present(self) -> tuple[FetchResult, ...]:
        return tuple(r for r in self.results if r.status == "present")

    @property
    def downloaded(self) -> tuple[FetchResult, ...]:
        return tuple(r for r in self.results if r.status == "downloaded")

    @property
    def bytes_downloaded(self) -> int:
        """Bytes that came over the wire; items sharing one file count once."""
        return sum({r.path: r.size for r in self.downloaded}.values())

    @property
    def bytes_present(self) -> int:
        return sum({r.path: r.size for r in self.present}.values())

    def path(self, item: FetchItem) -> Path:
        """The store path of ``item`` (KeyError if it is not in this report)."""
        for r in self.results:
            if r.item == item:
                return r.path
        raise KeyError(item)


class FetchProgress(Protocol):
    """Progress sink; called from worker threads, so implementations must be thread-safe."""

    def start(self, total_items: int) -> None: ...
    def advance_bytes(self, n: int) -> None: ...
    def item_done(self, result: FetchResult) -> None: ...


def cache_mirror_urls(mirror: str, checksums: Iterable[Checksum]) -> list[str]:
    """URLs of a file in an opam archive cache (``opam admin cache`` layout)."""
    base = mirror.rstrip("/")
    return [f"{base}/cache/{c.algo}/{c.hex[:2]}/{c.hex}" for c in checksums]


def candidate_urls(item: FetchItem, mirrors: Sequence[str]) -> list[str]:
    urls = [item.url, *item.mirrors]
    for m in mirrors:
        urls += cache_mirror_urls(m, item.checksums)
    return list(dict.fromkeys(urls))


def fetch(
    plan: FetchPlan,
    store: Store,
    *,
    jobs: int = 4,
    offline: bool = False,
    mirrors: Sequence[str] = (),
    progress: FetchProgress | None = None,
    settings: FetchSettings | None = None,
) -> FetchReport:
    """Make every item of ``plan`` present in ``store``.

    Items already in the store (re-verified unless ``settings.verify_present`` is off) are not
    downloaded; items sharing bytes are downloaded once. Raises :class:`OfflineMissing` when
    ``offline`` and anything is missing; otherwise every item is attempted and failures are
    raised together at the end: the single error itself if one item failed (e.g.
    :class:`ChecksumMismatch`), else :class:`FetchFailed` holding each.
    """
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    settings = settings or FetchSettings()
    by_key: dict[StoreKey, list[FetchItem]] = {}
    for item in plan.items:
        by_key.setdefault(item.primary_key, []).append(item)

    done: dict[StoreKey, FetchResult] = {}
    missing: list[FetchItem] = []
    for key, items in by_key.items():
        path = store.lookup(items[0].keys, verify=settings.verify_present)
        if path is None:
            missing.append(items[0])
        else:
            done[key] = FetchResult(items[0], "present", path, None, path.stat().st_size)

    if missing and offline:
        raise OfflineMissing([it for it in plan.items if it.primary_key not in done])

    errors: list[FetchError] = []
    if missing:
        store.clean_stale()
        if progress is not None:
            progress.start(len(missing))
        on_bytes = progress.advance_bytes if progress is not None else (lambda n: None)
        with (
            make_session(settings, pool_size=jobs) as session,
            ThreadPoolExecutor(
                max_workers=min(jobs, len(missing)), thread_name_prefix="opamlock-fetch"
            ) as pool,
        ):
            futures: list[tuple[FetchItem, Future[FetchResult]]] = [
                (it, pool.submit(_fetch_one, it, store, session, mirrors, settings, on_bytes))
                for it in missing
            ]
            try:
                for it, fut in futures:
                    try:
                        res = fut.result()
                    except FetchError as e:
                        errors.append(e)
                        continue
                    done[it.primary_key] = res
                    if progress is not None:
                        progress.item_done(res)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    if errors:
        raise errors[0] if len(errors) == 1 else FetchFailed(errors)

    results = []
    for item in plan.items:
        r = done[item.primary_key]
        results.append(FetchResult(item, r.status, r.path, r.url, r.size))
    return FetchReport(tuple(results))


def _fetch_one(
    item: FetchItem,
    store: Store,
    session: requests.Session,
    mirrors: Sequence[str],
    settings: FetchSettings,
    on_bytes: Callable[[int], None],
) -> FetchResult:
    attempts: list[tuple[str, str]] = []
    mismatches: list[ChecksumMismatch] = []
    commit = item.git_commit
    extra_keys = (GitCommit(commit),) if commit else ()
    for url in candidate_urls(item, mirrors):
        with store.stage() as st:
            try:
                fetch_url(session, url, st, settings, on_bytes, git_commit=commit)
            except SourceUnavailable as e:
                attempts.append((url, str(e)))
                continue
            size = st.size
            try:
                path = st.commit(item.checksums, extra_keys=extra_keys, package=item.package, url=url)
            except ChecksumMismatch as e:
                mismatches.append(e)
                attempts.append((url, f"checksum mismatch (got {e.expected.algo}={e.actual})"))
                continue
            return FetchResult(item, "downloaded", path, url, size)
    if mismatches:
        raise mismatches[0]
    raise DownloadFailed(package=item.package, name=item.name, attempts=attempts)
