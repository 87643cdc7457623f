"""Fetching over HTTP against a scripted local server: retries, truncation, mirrors, checksums."""

from __future__ import annotations

import hashlib
import socket
import sys
import threading
from pathlib import Path

import pytest
import requests
import urllib3

from opamlock.fetch import (
    Checksum,
    ChecksumMismatch,
    DownloadFailed,
    FetchFailed,
    FetchItem,
    FetchPlan,
    FetchResult,
    FetchSettings,
    OfflineMissing,
    Store,
    fetch,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "fetch"))
from fetch_server import Drop, FetchServer, Hangup, Serve, Status

FAST = FetchSettings(connect_timeout=2, read_timeout=2, retries=3, backoff_factor=0.001, body_retries=2)
DATA = b"opamlock fetch test payload\n" * 4096  # ~112 KiB: several chunks


def sha256(data: bytes) -> Checksum:
    return Checksum("sha256", hashlib.sha256(data).hexdigest())


def item(url: str, data: bytes = DATA, *, mirrors: tuple[str, ...] = (), pkg: str = "foo.1.0") -> FetchItem:
    return FetchItem(
        package=pkg, name=url.rsplit("/", 1)[-1], url=url, checksums=(sha256(data),), mirrors=mirrors
    )


def store_files(store: Store) -> list[Path]:
    """Every file in the store, staging area included."""
    return sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with FetchServer() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache" / "store")


def test_plain_download_enters_store_under_every_digest(server: FetchServer, store: Store) -> None:
    url = server.route("/a.tar.gz", Serve(DATA))
    report = fetch(FetchPlan((item(url),)), store, settings=FAST)
    (res,) = report.results
    assert res.status == "downloaded" and res.url == url and res.size == len(DATA)
    assert res.path.read_bytes() == DATA
    for algo in ("md5", "sha256", "sha512"):
        key = Checksum(algo, hashlib.new(algo, DATA).hexdigest())  # type: ignore[arg-type]
        assert store.lookup([key]) is not None
    assert list(store.tmp_dir.iterdir()) == []
    assert report.bytes_downloaded == len(DATA)


def test_5xx_twice_then_200_succeeds(server: FetchServer, store: Store) -> None:
    url = server.route("/flaky", Status(503), Status(500), Serve(DATA))
    report = fetch(FetchPlan((item(url),)), store, settings=FAST)
    assert server.hits("/flaky") == 3
    assert report.results[0].path.read_bytes() == DATA


def test_connection_closed_before_response_is_retried(server: FetchServer, store: Store) -> None:
    url = server.route("/hangup", Hangup(), Hangup(), Serve(DATA))
    report = fetch(FetchPlan((item(url),)), store, settings=FAST)
    assert server.hits("/hangup") == 3
    assert report.results[0].path.read_bytes() == DATA


def test_5xx_forever_fails_after_bounded_retries(server: FetchServer, store: Store) -> None:
    url = server.route("/down", Status(502))
    with pytest.raises(DownloadFailed, match="HTTP 502"):
        fetch(FetchPlan((item(url),)), store, settings=FAST)
    assert server.hits("/down") == FAST.retries + 1
    assert store_files(store) == []


def test_truncated_body_is_detected_by_urllib3(server: FetchServer) -> None:
    """The premise of the body retry: urllib3 2 enforces Content-Length and raises, never returns short."""
    url = server.route("/cut", Drop(DATA, cut=1000))
    with requests.get(url, stream=True, timeout=2) as resp:
        assert resp.raw.enforce_content_length
        with pytest.raises(urllib3.exceptions.ProtocolError):
            for _ in resp.raw.stream(1 << 16, decode_content=False):
                pass


def test_connection_dropped_mid_body_is_retried(server: FetchServer, store: Store) -> None:
    url = server.route("/drop", Drop(DATA, cut=len(DATA) // 3), Serve(DATA))
    report = fetch(FetchPlan((item(url),)), store, settings=FAST)
    assert server.hits("/drop") == 2
    assert report.results[0].path.read_bytes() == DATA


def test_connection_dropped_every_time_fails(server: FetchServer, store: Store) -> None:
    url = server.route("/drop", Drop(DATA, cut=10))
    with pytest.raises(DownloadFailed, match="connection dropped"):
        fetch(FetchPlan((item(url),)), store, settings=FAST)
    assert server.hits("/drop") == FAST.body_retries + 1
    assert store_files(store) == []


def test_wrong_bytes_is_a_checksum_error_and_store_unchanged(server: FetchServer, store: Store) -> None:
    good = b"the bytes the lock expects"
    # Seed the store with something else, to check it is left exactly as it was.
    other = b"an unrelated entry"
    store.add_bytes(other, [sha256(other)])
    before = {p: p.read_bytes() for p in store_files(store)}
    url = server.route("/evil.tbz", Serve(b"tampered bytes"))
    with pytest.raises(ChecksumMismatch) as ei:
        fetch(FetchPlan((item(url, good, pkg="evil.2.0"),)), store, settings=FAST)
    msg = ei.value.render()
    assert "evil.2.0" in msg and url in msg
    assert str(sha256(good)) in msg
    assert hashlib.sha256(b"tampered bytes").hexdigest() in msg
    assert {p: p.read_bytes() for p in store_files(store)} == before


def test_lock_mirror_used_when_url_404s(server: FetchServer, store: Store) -> None:
    url = server.url("/gone.tar.gz")
    mirror = server.route("/mirror/gone.tar.gz", Serve(DATA))
    report = fetch(FetchPlan((item(url, mirrors=(mirror,)),)), store, settings=FAST)
    assert report.results[0].url == mirror
    assert server.hits("/gone.tar.gz") == 1


def test_opam_cache_mirror_used_when_url_500s(server: FetchServer, store: Store) -> None:
    url = server.route("/broken.tar.gz", Status(500))
    c = sha256(DATA)
    cached = server.route(f"/cachemirror/cache/sha256/{c.hex[:2]}/{c.hex}", Serve(DATA))
    report = fetch(FetchPlan((item(url),)), store, mirrors=[server.url("/cachemirror")], settings=FAST)
    assert report.results[0].url == cached
    assert report.results[0].path.read_bytes() == DATA


def test_bad_mirror_bytes_do_not_stop_a_good_mirror(server: FetchServer, store: Store) -> None:
    url = server.route("/a", Serve(b"wrong"))
    good = server.route("/b", Serve(DATA))
    report = fetch(FetchPlan((item(url, mirrors=(good,)),)), store, settings=FAST)
    assert report.results[0].url == good


def test_file_url_source(tmp_path: Path, store: Store) -> None:
    src = tmp_path / "local.tar"
    src.write_bytes(DATA)
    report = fetch(FetchPlan((item(src.as_uri()),)), store, settings=FAST)
    assert report.results[0].path.read_bytes() == DATA


def test_offline_with_empty_store_lists_every_missing_item(store: Store) -> None:
    plan = FetchPlan(
        (
            item("https://example.invalid/a-1.tbz", b"a", pkg="a.1"),
            item("https://example.invalid/b-2.tbz", b"b", pkg="b.2"),
        )
    )
    with pytest.raises(OfflineMissing) as ei:
        fetch(plan, store, offline=True)
    msg = ei.value.render()
    for pkg, name, url in [
        ("a.1", "a-1.tbz", "https://example.invalid/a-1.tbz"),
        ("b.2", "b-2.tbz", "https://example.invalid/b-2.tbz"),
    ]:
        assert f"{pkg}: {name} ({url})" in msg
    assert [it.package for it in ei.value.missing] == ["a.1", "b.2"]


def test_offline_uses_store_without_network(server: FetchServer, store: Store) -> None:
    url = server.route("/x", Serve(DATA))
    fetch(FetchPlan((item(url),)), store, settings=FAST)
    report = fetch(FetchPlan((item(url),)), store, offline=True)
    assert [r.status for r in report.results] == ["present"]
    assert server.hits("/x") == 1


def test_corrupt_store_entry_is_replaced(server: FetchServer, store: Store) -> None:
    url = server.route("/x", Serve(DATA))
    path = fetch(FetchPlan((item(url),)), store, settings=FAST).results[0].path
    path.chmod(0o644)
    path.write_bytes(b"bit rot")
    report = fetch(FetchPlan((item(url),)), store, settings=FAST)
    assert report.results[0].status == "downloaded"
    assert report.results[0].path.read_bytes() == DATA


def test_same_bytes_downloaded_once(server: FetchServer, store: Store) -> None:
    url = server.route("/shared", Serve(DATA))
    plan = FetchPlan((item(url, pkg="a.1"), item(url, pkg="b.1")))
    report = fetch(plan, store, jobs=4, settings=FAST)
    assert server.hits("/shared") == 1
    assert [r.item.package for r in report.results] == ["a.1", "b.1"]
    assert report.results[0].path == report.results[1].path
    assert report.bytes_downloaded == len(DATA)


def test_parallel_fetch_of_many_items(server: FetchServer, store: Store) -> None:
    blobs = [bytes([i]) * (50_000 + i) for i in range(12)]
    plan = FetchPlan(
        tuple(item(server.route(f"/f{i}", Serve(b)), b, pkg=f"p{i}.1") for i, b in enumerate(blobs))
    )
    report = fetch(plan, store, jobs=4, settings=FAST)
    assert [r.path.read_bytes() for r in report.results] == blobs
    assert report.bytes_downloaded == sum(map(len, blobs))


def test_several_failures_are_reported_together(server: FetchServer, store: Store) -> None:
    ok = server.route("/ok", Serve(DATA))
    bad = server.route("/bad", Serve(b"nope"))
    plan = FetchPlan(
        (item(ok, pkg="ok.1"), item(bad, b"x", pkg="bad.1"), item(server.url("/404"), b"y", pkg="nf.1"))
    )
    with pytest.raises(FetchFailed) as ei:
        fetch(plan, store, settings=FAST)
    kinds = sorted(type(e).__name__ for e in ei.value.errors)
    assert kinds == ["ChecksumMismatch", "DownloadFailed"]
    # The good item still landed.
    assert store.lookup([sha256(DATA)]) is not None


def test_connection_refused_fails_with_reason(store: Store) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    with pytest.raises(DownloadFailed) as ei:
        fetch(FetchPlan((item(url),)), store, settings=FAST)
    assert url in ei.value.render()


class _Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = -1
        self.bytes = 0
        self.done: list[FetchResult] = []

    def start(self, total_items: int) -> None:
        self.total = total_items

    def advance_bytes(self, n: int) -> None:
        with self.lock:
            self.bytes += n

    def item_done(self, result: FetchResult) -> None:
        with self.lock:
            self.done.append(result)


def test_progress_sees_items_and_bytes(server: FetchServer, store: Store) -> None:
    url = server.route("/p", Drop(DATA, cut=5000), Serve(DATA))
    rec = _Recorder()
    fetch(FetchPlan((item(url),)), store, progress=rec, settings=FAST)
    assert rec.total == 1
    assert rec.bytes == len(DATA)  # the aborted attempt's bytes were taken back
    assert [r.item.url for r in rec.done] == [url]
