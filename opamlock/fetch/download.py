"""Getting one URL's bytes into a :class:`~opamlock.fetch.store.Staging` file.

Two layers of retry, because they cover different failures:

* urllib3's :class:`~urllib3.util.Retry` on the shared session retries connection errors and 5xx
  responses *before* a body is handed to us, with exponential backoff;
* once streaming, a connection dropped mid-body surfaces as urllib3's ``ProtocolError``
  (``IncompleteRead``: urllib3 2 enforces ``Content-Length``) which no adapter retries, so
  :func:`fetch_url` restarts the body itself, up to ``body_retries`` times with the same backoff.

Everything that means "this URL will not do" raises :class:`SourceUnavailable` so the caller moves
on to the next mirror.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from opamlock import __version__
from opamlock.fetch.git import GitFailed, archive_commit
from opamlock.fetch.store import Staging

RETRY_STATUSES = (500, 502, 503, 504)
CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Network knobs; tests shrink the backoff so retries cost milliseconds."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 10.0
    body_retries: int = 3
    git_timeout: float = 600.0
    verify_present: bool = True


class SourceUnavailable(Exception):
    """This URL failed (after retries); the reason is shown if every source fails."""


def make_session(settings: FetchSettings, pool_size: int) -> requests.Session:
    """One session per fetch run: connection reuse across items, retries configured once."""
    retry = Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        other=0,
        backoff_factor=settings.backoff_factor,
        backoff_max=settings.backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    s = requests.Session()
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = f"opamlock/{__version__}"
    # Archives must arrive byte for byte: no transparent gzip decoding of a .tar.gz.
    s.headers["Accept-Encoding"] = "identity"
    return s


def _backoff(settings: FetchSettings, attempt: int) -> float:
    return float(min(settings.backoff_max, settings.backoff_factor * (2**attempt)))


def fetch_url(
    session: requests.Session,
    url: str,
    staging: Staging,
    settings: FetchSettings,
    on_bytes: Callable[[int], None] = lambda n: None,
    *,
    git_commit: str | None = None,
) -> None:
    """Write ``url``'s bytes into ``staging`` (reset first), or raise :class:`SourceUnavailable`.

    For a git URL the commit is ``git_commit`` if given (a lock mirror may omit the fragment),
    else the URL's fragment.
    """
    scheme = urlsplit(url).scheme
    staging.reset()
    if scheme in ("http", "https"):
        _fetch_http(session, url, staging, settings, on_bytes)
    elif scheme == "file":
        _fetch_file(url, staging, on_bytes)
    elif scheme.startswith("git"):
        commit = git_commit or urlsplit(url).fragment.lower()
        if not commit:
            raise SourceUnavailable("git URL without a commit")

        def write(chunk: bytes) -> None:
            staging.write(chunk)
            on_bytes(len(chunk))

        try:
            archive_commit(url, commit, write, timeout=settings.git_timeout)
        except GitFailed as e:
            raise SourceUnavailable(str(e)) from e
    else:
        raise SourceUnavailable(f"unsupported scheme {scheme!r}")


def file_url_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise SourceUnavailable(f"file URL with a remote host {parts.netloc!r}")
    return Path(url2pathname(unquote(parts.path)))


def _fetch_file(url: str, staging: Staging, on_bytes: Callable[[int], None]) -> None:
    path = file_url_path(url)
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                staging.write(chunk)
                on_bytes(len(chunk))
    except OSError as e:
        raise SourceUnavailable(f"{e.strerror or e}") from e


def _fetch_http(
    session: requests.Session,
    url: str,
    staging: Staging,
    settings: FetchSettings,
    on_bytes: Callable[[int], None],
) -> None:
    timeout = (settings.connect_timeout, settings.read_timeout)
    last = ""
    for attempt in range(settings.body_retries + 1):
        if attempt:
            time.sleep(_backoff(settings, attempt - 1))
            staging.reset()
        try:
            resp = session.get(url, stream=True, timeout=timeout)
        except requests.RequestException as e:
            # The adapter already retried connection errors and 5xx with backoff.
            raise SourceUnavailable(_reason(e)) from e
        with resp:
            if resp.status_code != 200:
                raise SourceUnavailable(f"HTTP {resp.status_code} {resp.reason or ''}".rstrip())
            expected_len = resp.headers.get("Content-Length")
            got = 0
            try:
                for chunk in resp.raw.stream(CHUNK, decode_content=False):
                    staging.write(chunk)
                    got += len(chunk)
                    on_bytes(len(chunk))
            except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as e:
                last = f"connection dropped after {got} bytes ({_reason(e)})"
                on_bytes(-got)
                continue
            if expected_len is not None and expected_len.isdigit() and int(expected_len) != got:
                # urllib3 2 raises on this already; kept so a laxer transport cannot slip a short file in.
                last = f"short body: {got} of {expected_len} bytes"
                on_bytes(-got)
                continue
            return
    raise SourceUnavailable(f"{last} (after {settings.body_retries + 1} attempts)")


def _reason(e: BaseException) -> str:
    """A one-line reason; requests nests urllib3's errors several levels deep."""
    seen = e
    while seen.__context__ is not None and str(seen) == "":
        seen = seen.__context__
    text = str(seen).splitlines()[0] if str(seen) else type(seen).__name__
    return text if len(text) < 200 else text[:197] + "..."
