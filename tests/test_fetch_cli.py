"""``opamlock fetch`` end to end through the command line, against a local server."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures" / "fetch"))
from fetch_server import FetchServer, Serve, Status

lf = pytest.importorskip("opamlock.lockfile", reason="opamlock.lockfile has not landed yet")

A = b"tarball of a\n" * 1000
B = b"patch for a\n"
C = b"tarball of c\n" * 10


def sha(data: bytes) -> str:
    return "sha256=" + hashlib.sha256(data).hexdigest()


def write_lock(path: Path, urls: dict[str, str]) -> None:
    def pkg(name: str, src: lf.Source, extras: tuple[lf.ExtraSource, ...] = ()) -> lf.LockedPackage:
        return lf.LockedPackage(
            name=name,
            version="1.0",
            repository="r",
            opam_hash=sha(name.encode()),
            source=src,
            extra_sources=extras,
        )

    lock = lf.Lock(
        inputs_hash=sha(b"i"),
        config_hash=sha(b"c"),
        repositories=(lf.LockedRepository(name="r", url="repo", identity=sha(b"r").replace("=", ":")),),
        platforms=(lf.LockedPlatform(name="linux-x86_64", vars=(("arch", "x86_64"),)),),
        roots=(),
        packages=(
            pkg(
                "a",
                lf.Source(url=urls["a"], checksums=(sha(A),)),
                (lf.ExtraSource(name="fix.patch", url=urls["b"], checksums=(sha(B),)),),
            ),
            pkg("c", lf.Source(url=urls["c"], checksums=(sha(C),))),
        ),
    )
    path.write_text(lf.dumps(lock))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "proj"
    p.mkdir()
    return p


def test_fetch_then_offline(project: Path, tmp_path: Path) -> None:
    with FetchServer() as srv:
        urls = {
            "a": srv.route("/a-1.0.tbz", Serve(A)),
            "b": srv.route("/fix.patch", Serve(B)),
            "c": srv.route("/c-1.0.tgz", Status(503), Serve(C)),
        }
        write_lock(project / "opamlock.lock", urls)
        store = tmp_path / "store"
        r = CliRunner().invoke(main, ["fetch", "-C", str(project), "--store", str(store), "-j", "2"])
        assert r.exit_code == 0, r.output
        assert "downloaded" in r.output and "3" in r.output
        r2 = CliRunner().invoke(main, ["fetch", "-C", str(project), "--store", str(store), "--offline"])
        assert r2.exit_code == 0, r2.output
        assert srv.total_hits == 4


def test_offline_empty_store_lists_missing(project: Path, tmp_path: Path) -> None:
    urls = {
        "a": "https://example.invalid/a-1.0.tbz",
        "b": "https://example.invalid/fix.patch",
        "c": "file:///nope",
    }
    write_lock(project / "opamlock.lock", urls)
    r = CliRunner().invoke(main, ["fetch", "-C", str(project), "--store", str(tmp_path / "s"), "--offline"])
    assert r.exit_code == 1
    assert "3 source(s) missing" in r.output
    assert "a.1.0: fix.patch (https://example.invalid/fix.patch)" in r.output
    assert "Traceback" not in r.output


def test_checksum_error_exit_code(project: Path, tmp_path: Path) -> None:
    with FetchServer() as srv:
        urls = {
            "a": srv.route("/a", Serve(b"evil")),
            "b": srv.route("/b", Serve(B)),
            "c": srv.route("/c", Serve(C)),
        }
        write_lock(project / "opamlock.lock", urls)
        r = CliRunner().invoke(main, ["fetch", "-C", str(project), "--store", str(tmp_path / "s")])
    assert r.exit_code == 1
    assert "checksum mismatch for a.1.0" in r.output


def test_config_mirrors_are_used(project: Path, tmp_path: Path) -> None:
    with FetchServer() as srv:
        hexes = {k: hashlib.sha256(v).hexdigest() for k, v in {"a": A, "b": B, "c": C}.items()}
        for k, data in {"a": A, "b": B, "c": C}.items():
            h = hexes[k]
            srv.route(f"/m/cache/sha256/{h[:2]}/{h}", Serve(data))
        urls = {k: srv.url(f"/gone-{k}") for k in "abc"}
        write_lock(project / "opamlock.lock", urls)
        (project / "opamlock.toml").write_text(
            f'[[repository]]\nname = "r"\npath = "repo"\nhash = "{sha(b"r").replace("=", ":")}"\n\n'
            f'[fetch]\nmirrors = ["{srv.url("/m")}"]\n'
        )
        r = CliRunner().invoke(main, ["fetch", "-C", str(project), "--store", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output


def test_rich_progress_bar_counts_items_and_bytes(tmp_path: Path) -> None:
    import io

    from rich.console import Console
    from rich.progress import Progress

    from opamlock.cli.fetch import _RichProgress
    from opamlock.fetch import FetchSettings, Store, fetch, make_item
    from opamlock.fetch.plan import FetchPlan

    out = io.StringIO()
    with FetchServer() as srv:
        items = tuple(
            make_item(f"p{i}.1", srv.route(f"/f{i}", Serve(bytes([i]) * 5000)), [sha(bytes([i]) * 5000)])
            for i in range(3)
        )
        with Progress(console=Console(file=out, force_terminal=True, width=100)) as bar:
            sink = _RichProgress(bar)
            fetch(FetchPlan(items), Store(tmp_path / "s"), progress=sink, settings=FetchSettings())
            (task,) = bar.tasks
            assert (task.completed, task.total) == (3, 3)
            assert task.fields["bytes"] == "15.0 kB"
    assert out.getvalue()
