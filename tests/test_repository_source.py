"""Reading repository sources without parsing: the tar reader, package discovery, identities."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from opamlock.repository import _tar
from opamlock.repository.source import (
    DirSource,
    RepositoryError,
    TarSource,
    content_identity,
    group_files,
    open_source,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


def _make_tar(files: dict[str, bytes], fmt: int, *, gz: bool = True, extra_dirs: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w", format=fmt) as tf:
        if extra_dirs:
            d = tarfile.TarInfo("top/")
            d.type = tarfile.DIRTYPE
            tf.addfile(d)
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        link = tarfile.TarInfo("top/a-link")
        link.type = tarfile.SYMTYPE
        link.linkname = "packages"
        tf.addfile(link)
    return buf.getvalue()


LONG = "top/packages/" + "n" * 60 + "/" + "n" * 60 + ".1.0/opam"


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize("gz", [True, False])
def test_tar_reader_matches_tarfile(fmt: int, gz: bool) -> None:
    files = {"top/repo": b"opam-version: \"2.0\"\n", "top/packages/a/a.1/opam": b"x" * 1000, "top/empty": b""}
    if fmt != tarfile.USTAR_FORMAT:
        files[LONG] = b"long name"
        files["top/packages/\u00e9/\u00e9.1/opam"] = b"utf8 name"
    data = _make_tar(files, fmt, gz=gz)
    got = {name: bytes(content) for name, content in _tar.iter_files(_tar.decompress(data))}
    assert got == files


def test_tar_reader_rejects_garbage() -> None:
    with pytest.raises(_tar.TarError):
        list(_tar.iter_files(_tar.decompress(b"\x1f\x8b" + b"garbage" * 100)))
    with pytest.raises(_tar.TarError):
        list(_tar.iter_files(b"not a tar" * 100))
    whole = _tar.decompress(_make_tar({"top/packages/a/a.1/opam": b"y" * 5000}, tarfile.PAX_FORMAT))
    with pytest.raises(_tar.TarError):
        list(_tar.iter_files(whole[:2048]))


@pytest.mark.slow
def test_tar_reader_on_snapshot(snapshot_tar: Path) -> None:
    data = _tar.decompress(snapshot_tar.read_bytes())
    ours = {n: bytes(c) for n, c in _tar.iter_files(data)}
    with tarfile.open(snapshot_tar) as tf:
        theirs = {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}  # type: ignore[union-attr]
    assert ours == theirs
    assert sum(n.endswith("/opam") for n in ours) == 18793


def test_group_files_follows_opam_discovery() -> None:
    files = [
        ("packages/a/a.1/opam", b"1"),
        ("packages/a/a.1/files/p.patch", b"p"),
        ("packages/a/a.1/files/sub/q", b"q"),
        ("packages/a/a.1/README", b"ignored: not under files/"),
        ("packages/a/a.1/nested/b.2/opam", b"below a package folder: not a package"),
        ("packages/deep/er/c.3/opam", b"any depth"),
        ("packages/noversion/opam", b"not NAME.VERSION"),
        ("README.md", b"outside packages/"),
    ]
    pkgs, problems = group_files(files)
    assert [(p.relpath, p.name, p.version) for p in pkgs] == [
        ("packages/a/a.1", "a", "1"),
        ("packages/deep/er/c.3", "c", "3"),
    ]
    assert pkgs[0].files == (("p.patch", b"p"), ("sub/q", b"q"))
    assert [p.path for p in problems] == ["packages/noversion"]


def test_dir_and_tar_of_same_content_have_same_identity(tmp_path: Path) -> None:
    src = FIXTURES / "base"
    d_pkgs, _, _ = DirSource(str(src), src).read()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(src, arcname="base")
    archive = tmp_path / "base.tar.gz"
    archive.write_bytes(buf.getvalue())
    t_pkgs, _, _ = TarSource(str(archive), archive).read()
    assert [p.relpath for p in d_pkgs] == [p.relpath for p in t_pkgs]
    assert content_identity(d_pkgs) == content_identity(t_pkgs)
    assert content_identity(d_pkgs).startswith("sha256:")


def test_identity_is_content_sensitive(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "r"
    shutil.copytree(FIXTURES / "base", repo)
    first = content_identity(DirSource("r", repo).read()[0])
    patch = repo / "packages/foo/foo.1.0/files/fix.patch"
    patch.write_bytes(patch.read_bytes() + b" ")
    second = content_identity(DirSource("r", repo).read()[0])
    (repo / "packages/foo/foo.1.0/files/fix.patch").unlink()
    third = content_identity(DirSource("r", repo).read()[0])
    (repo / "README.md").write_text("not part of the identity")
    fourth = content_identity(DirSource("r", repo).read()[0])
    assert len({first, second, third}) == 3
    assert fourth == third


def test_dir_fingerprint_sees_edits_additions_and_removals(tmp_path: Path) -> None:
    import os
    import shutil

    repo = tmp_path / "r"
    shutil.copytree(FIXTURES / "base", repo)
    source = DirSource("r", repo)
    _, _, record = source.read()
    fp0 = source.fingerprint(record)
    assert fp0 is not None and fp0 == source.fingerprint(record)
    opam = repo / "packages/foo/foo.2.0/opam"
    st = opam.stat()
    opam.write_bytes(opam.read_bytes().replace(b"5.0", b"5.1"))
    os.utime(opam, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: ctime still moves
    assert source.fingerprint(record) != fp0
    (repo / "packages/foo/foo.3.0").mkdir()
    assert source.fingerprint(record) != fp0
    shutil.rmtree(repo / "packages/bar")
    assert source.fingerprint(record) is None  # a watched path is gone


def test_open_source_kinds(tmp_path: Path) -> None:
    assert open_source(FIXTURES / "base", None, tmp_path).kind == "dir"
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(b"")
    assert open_source(archive, None, tmp_path).kind == "tar"
    assert open_source("git+https://example.com/r.git#abc", None, tmp_path).kind == "git"
    with pytest.raises(RepositoryError) as e:
        open_source(tmp_path / "missing", None, tmp_path)
    assert e.value.hint
    with pytest.raises(RepositoryError):
        open_source("https://example.com/x", None, tmp_path)
    with pytest.raises(RepositoryError):
        open_source(tmp_path, None, tmp_path)  # a folder without packages/


def test_folder_discovery_agrees_with_the_flat_listing(tmp_path: Path) -> None:
    # The folder reader reads `opam` first and lists a folder only when there is none; it must
    # find exactly what opam's rules (as group_files applies them) find.
    files = [
        ("packages/a/a.1/opam", b"1"),
        ("packages/a/a.1/files/p.patch", b"p"),
        ("packages/a/a.1/files/sub/q", b"q"),
        ("packages/a/a.1/README", b"ignored"),
        ("packages/a/a.1/nested/b.2/opam", b"below a package folder"),
        ("packages/a/a.2/opam/oops", b"`opam` is a folder here: not a package, but searched"),
        ("packages/a/a.2/x/a.3/opam", b"found below it"),
        ("packages/deep/er/c.3/opam", b"any depth"),
        ("packages/noversion/opam", b"not NAME.VERSION"),
        ("packages/e/e.1/files", b"a file named files: no files/ folder"),
        ("packages/e/e.1/opam", b"e"),
    ]
    for rel, data in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "packages/f/f.1").mkdir(parents=True)
    os.mkfifo(tmp_path / "packages/f/f.1/opam")  # not a regular file: skipped, and must not hang us
    pkgs, problems, _ = DirSource("t", tmp_path).read()
    flat, flat_problems = group_files(files)
    assert [(p.relpath, p.opam, p.files) for p in pkgs] == [(p.relpath, p.opam, p.files) for p in flat]
    assert [p.path for p in problems] == [p.path for p in flat_problems] == ["packages/noversion"]
