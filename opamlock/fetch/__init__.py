"""Fetching locked sources into a content-addressed store, and unpacking them safely.

This is the "lock -> fetch plan" step of the pipeline. Typical use, e.g. from a build::

    plan = plan_from_lock(lockfile.load(path))
    report = fetch(plan, Store.default(), offline=True)
    extract(report.path(item), workdir, strip_top=True)
"""

from opamlock.fetch.archive import ExtractResult, extract
from opamlock.fetch.checksum import Checksum, parse_checksum, parse_checksums, strongest
from opamlock.fetch.download import FetchSettings
from opamlock.fetch.errors import (
    ChecksumMismatch,
    DownloadFailed,
    FetchError,
    FetchFailed,
    InvalidChecksum,
    InvalidSource,
    MissingChecksum,
    OfflineMissing,
    ToolMissing,
    UnreadableArchive,
    UnsafeArchive,
)
from opamlock.fetch.fetcher import FetchProgress, FetchReport, FetchResult, cache_mirror_urls, fetch
from opamlock.fetch.git import archive_commit
from opamlock.fetch.plan import FetchItem, FetchPlan, make_item, plan_from_lock
from opamlock.fetch.store import GitCommit, Store, StoreKey, default_cache_dir

__all__ = [
    "Checksum",
    "ChecksumMismatch",
    "DownloadFailed",
    "ExtractResult",
    "FetchError",
    "FetchFailed",
    "FetchItem",
    "FetchPlan",
    "FetchProgress",
    "FetchReport",
    "FetchResult",
    "FetchSettings",
    "GitCommit",
    "InvalidChecksum",
    "InvalidSource",
    "MissingChecksum",
    "OfflineMissing",
    "Store",
    "StoreKey",
    "ToolMissing",
    "UnreadableArchive",
    "UnsafeArchive",
    "archive_commit",
    "cache_mirror_urls",
    "default_cache_dir",
    "extract",
    "fetch",
    "make_item",
    "parse_checksum",
    "parse_checksums",
    "plan_from_lock",
    "strongest",
]
