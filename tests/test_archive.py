"""Safe extraction: every formats opam sources come in, and every way out of the target refused."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opamlock.fetch import UnreadableArchive, UnsafeArchive, extract

Entry = tuple[str, str, str | bytes]  # (name, kind, data or link target)


def make_tar(path: Path, entries: list[Entry], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:  # type: ignore[call-overload]
        for name, kind, payload in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1_700_000_000
            if kind == "file":
                data = payload if isinstance(payload, bytes) else payload.encode()
                ti.size = len(data)
                ti.mode = 0o644
                tf.addfile(ti, io.BytesIO(data))
                continue
            if kind == "exe":
                data = payload if isinstance(payload, bytes) else payload.encode()
                ti.size, ti.mode = len(data), 0o755
                tf.addfile(ti, io.BytesIO(data))
                continue
            ti.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "chr": tarfile.CHRTYPE,
                "blk": tarfile.BLKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            ti.mode = 0o755 if kind == "dir" else 0o644
            if kind in ("symlink", "hardlink"):
                assert isinstance(payload, str)
                ti.linkname = payload
            tf.addfile(ti)
    return path


def make_zip(path: Path, entries: list[Entry]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, kind, payload in entries:
            zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            zi.create_system = 3
            if kind == "dir":
                zi.external_attr = (stat.S_IFDIR | 0o755) << 16
                zf.writestr(zi, b"")
            elif kind == "symlink":
                zi.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(zi, str(payload))
            elif kind == "chr":
                zi.external_attr = (stat.S_IFCHR | 0o644) << 16
                zf.writestr(zi, b"")
            else:
                zi.external_attr = (stat.S_IFREG | (0o755 if kind == "exe" else 0o644)) << 16
                zf.writestr(zi, payload)
    return path


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    """(work, dest): the archive goes in work, extraction into work/a/b/dest, so ``..`` lands in work."""
    dest = tmp_path / "a" / "b" / "dest"
    dest.parent.mkdir(parents=True)
    return tmp_path, dest


SOURCE = [
    ("pkg-1.0/", "dir", ""),
    ("pkg-1.0/README", "file", "hello\n"),
    ("pkg-1.0/src/", "dir", ""),
    ("pkg-1.0/src/main.ml", "file", "let () = ()\n"),
    ("pkg-1.0/configure", "exe", "#!/bin/sh\n"),
    ("pkg-1.0/src/link.ml", "symlink", "main.ml"),
    ("pkg-1.0/copy.ml", "hardlink", "pkg-1.0/src/main.ml"),
]


@pytest.mark.parametrize(
    ("suffix", "mode"), [(".tar", "w"), (".tgz", "w:gz"), (".tbz", "w:bz2"), (".txz", "w:xz")]
)
def test_tar_formats_with_strip(tmp_path: Path, suffix: str, mode: str) -> None:
    arc = make_tar(tmp_path / ("src" + suffix), SOURCE, mode)
    dest = tmp_path / "out"
    res = extract(arc, dest, strip_top=True)
    assert res.stripped == "pkg-1.0"
    assert (dest / "README").read_text() == "hello\n"
    assert (dest / "src" / "link.ml").is_symlink() and (
        dest / "src" / "link.ml"
    ).read_text() == "let () = ()\n"
    assert (dest / "copy.ml").read_text() == "let () = ()\n"
    assert os.access(dest / "configure", os.X_OK)
    assert not (dest / "pkg-1.0").exists()


def test_tar_without_strip_keeps_top(tmp_path: Path) -> None:
    arc = make_tar(tmp_path / "src.tar", SOURCE)
    res = extract(arc, tmp_path / "out")
    assert res.stripped is None
    assert (tmp_path / "out" / "pkg-1.0" / "src" / "main.ml").exists()


def test_no_strip_when_several_top_entries_or_a_single_file(tmp_path: Path) -> None:
    two = make_tar(tmp_path / "two.tar", [("a/x", "file", "1"), ("b/y", "file", "2")])
    assert extract(two, tmp_path / "o1", strip_top=True).stripped is None
    assert (tmp_path / "o1" / "a" / "x").exists()
    one = make_tar(tmp_path / "one.tar", [("only.ml", "file", "1")])
    assert extract(one, tmp_path / "o2", strip_top=True).stripped is None
    assert (tmp_path / "o2" / "only.ml").read_text() == "1"


def test_zip_with_strip_and_modes(tmp_path: Path) -> None:
    arc = make_zip(
        tmp_path / "src.zip",
        [
            ("pkg/", "dir", ""),
            ("pkg/a.ml", "file", "a"),
            ("pkg/run", "exe", "#!/bin/sh\n"),
            ("pkg/l", "symlink", "a.ml"),
        ],
    )
    dest = tmp_path / "out"
    res = extract(arc, dest, strip_top=True)
    assert res.stripped == "pkg"
    assert (dest / "a.ml").read_text() == "a"
    assert os.access(dest / "run", os.X_OK) and not os.access(dest / "a.ml", os.X_OK)
    assert os.readlink(dest / "l") == "a.ml"


def test_format_is_sniffed_not_named(tmp_path: Path) -> None:
    """Store entries are named by hash: a gzip tar called 'abcdef' must still extract."""
    arc = make_tar(tmp_path / "abcdef", SOURCE, "w:gz")
    assert extract(arc, tmp_path / "out", strip_top=True).stripped == "pkg-1.0"


def test_garbage_is_unreadable(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"not an archive at all" * 100)
    with pytest.raises(UnreadableArchive):
        extract(junk, tmp_path / "out")


ESCAPES: list[tuple[str, list[Entry], str]] = [
    ("dotdot", [("ok.ml", "file", "1"), ("../../x", "file", "pwned")], "'..'"),
    ("dotdot-inside", [("d/../../../x", "file", "pwned")], "'..'"),
    ("absolute", [("ok.ml", "file", "1"), ("/tmp/opamlock-abs-x", "file", "pwned")], "absolute"),
    ("symlink-out", [("l", "symlink", "../../.."), ("l/x", "file", "pwned")], "symlink"),
    ("symlink-abs", [("l", "symlink", "/etc"), ("l/x", "file", "pwned")], "symlink"),
    ("hardlink-out", [("h", "hardlink", "../../x")], "'..'"),
    ("hardlink-abs", [("h", "hardlink", "/etc/passwd")], "absolute"),
    ("device", [("null", "chr", "")], "device"),
    ("block", [("disk", "blk", "")], "device"),
    ("fifo", [("pipe", "fifo", "")], "FIFO"),
]


@pytest.mark.parametrize(("label", "entries", "reason"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_tar_escapes_are_refused_before_anything_is_written(
    sandbox: tuple[Path, Path], label: str, entries: list[Entry], reason: str
) -> None:
    work, dest = sandbox
    arc = make_tar(work / "evil.tar", entries)
    before = snapshot(work)
    with pytest.raises(UnsafeArchive) as ei:
        extract(arc, dest)
    assert reason in ei.value.message and "evil.tar" in ei.value.message
    assert snapshot(work) == before | {"a/b/dest"}
    assert list(dest.iterdir()) == []
    assert not Path("/tmp/opamlock-abs-x").exists()


def test_symlink_chain_escape_is_caught_on_disk(sandbox: tuple[Path, Path]) -> None:
    """Each link looks inside on paper (``a -> .``, ``b -> a/..``) but ``b`` really is dest/.."""
    work, dest = sandbox
    arc = make_tar(
        work / "chain.tar", [("a", "symlink", "."), ("b", "symlink", "a/.."), ("b/x", "file", "pwned")]
    )
    with pytest.raises(UnsafeArchive, match="outside"):
        extract(arc, dest)
    assert not (dest.parent / "x").exists()
    assert {p.name for p in dest.parent.iterdir()} == {"dest"}


def test_hardlink_out_of_stripped_top_is_refused(tmp_path: Path) -> None:
    arc = make_tar(tmp_path / "h.tar", [("top/a", "file", "1"), ("top/h", "hardlink", "other/secret")])
    with pytest.raises(UnsafeArchive, match="hard link"):
        extract(arc, tmp_path / "out", strip_top=True)


def test_existing_symlink_in_dest_is_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "f").symlink_to(outside)
    extract(make_tar(tmp_path / "t.tar", [("f", "file", "new")]), dest)
    assert outside.read_text() == "keep"
    assert (dest / "f").read_text() == "new" and not (dest / "f").is_symlink()


ZIP_ESCAPES: list[tuple[str, list[Entry], str]] = [
    ("zip-slip", [("ok", "file", "1"), ("../../evil", "file", "pwned")], "'..'"),
    ("zip-backslash", [("..\\..\\evil", "file", "pwned")], "'..'"),
    ("zip-absolute", [("/tmp/opamlock-abs-x", "file", "pwned")], "absolute"),
    ("zip-symlink", [("l", "symlink", "../../../etc"), ("l/x", "file", "pwned")], "symlink"),
    ("zip-device", [("null", "chr", "")], "device"),
]


@pytest.mark.parametrize(("label", "entries", "reason"), ZIP_ESCAPES, ids=[e[0] for e in ZIP_ESCAPES])
def test_zip_escapes_are_refused(
    sandbox: tuple[Path, Path], label: str, entries: list[Entry], reason: str
) -> None:
    work, dest = sandbox
    arc = make_zip(work / "evil.zip", entries)
    before = snapshot(work)
    with pytest.raises(UnsafeArchive) as ei:
        extract(arc, dest)
    assert reason in ei.value.message
    assert snapshot(work) == before | {"a/b/dest"}
    assert not Path("/tmp/opamlock-abs-x").exists()


_COMPONENT = st.sampled_from(["a", "b", "..", ".", "", "c.ml"])
_NAMES = st.lists(_COMPONENT, min_size=1, max_size=4).map("/".join)
_ENTRY = st.one_of(
    st.tuples(_NAMES, st.just("file"), st.just("x")),
    st.tuples(_NAMES, st.just("dir"), st.just("")),
    st.tuples(_NAMES, st.just("symlink"), _NAMES | st.just("/abs")),
    st.tuples(_NAMES, st.just("hardlink"), _NAMES),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_ENTRY, min_size=1, max_size=6), strip=st.booleans(), use_zip=st.booleans())
def test_property_nothing_lands_outside(
    tmp_path_factory: pytest.TempPathFactory, entries, strip, use_zip
) -> None:  # type: ignore[no-untyped-def]
    """Whatever the member names and links, extraction either succeeds or refuses; never escapes."""
    work = tmp_path_factory.mktemp("prop")
    dest = work / "a" / "b" / "dest"
    dest.parent.mkdir(parents=True)
    if use_zip:
        entries = [e for e in entries if e[1] != "hardlink"]
        if not entries:
            return
        arc = make_zip(work / "p.zip", entries)
    else:
        arc = make_tar(work / "p.tar", entries)
    before = snapshot(work)
    with contextlib.suppress(UnsafeArchive, UnreadableArchive):
        extract(arc, dest, strip_top=strip)
    after = snapshot(work)
    assert {p for p in after - before if not p.startswith("a/b/dest")} == set()
    root = os.path.realpath(dest)
    for p in dest.rglob("*"):
        if p.is_symlink():
            try:
                resolved = os.path.realpath(p, strict=True)
            except OSError:  # a loop or a dangling link: judge where it points on paper
                resolved = os.path.normpath(os.path.join(os.path.realpath(p.parent), os.readlink(p)))
            assert resolved == root or resolved.startswith(root + os.sep)
