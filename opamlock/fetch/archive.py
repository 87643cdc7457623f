"""Safe extraction of source archives (tar, tar.gz/bz2/xz, zip) into a directory.

Archives are untrusted input: a member named ``../x`` or ``/etc/x``, a symlink to ``/`` followed
by a member written through it, or a hard link to a file outside would all write or expose
files beyond the target. Two independent defences:

1. *Before writing anything*, every member is checked lexically: no absolute paths, no ``..``
   components, no device files or FIFOs, symlink targets that stay inside once resolved from the
   member's directory, hard links that name another member.
2. *While writing*, each member's parent directory is resolved on disk (``realpath``) and must be
   inside the target, and nothing is ever written through an existing link. This catches link
   chains that are each harmless on paper (``a -> .`` then ``b -> a/..``). Tar members also pass
   through Python's own ``filter="data"``.

Format is sniffed from the bytes, not the name: store entries are named by their hash.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opamlock.fetch.errors import UnreadableArchive, UnsafeArchive

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class ExtractResult:
    members: int
    stripped: str | None  # the top-level directory removed, if any


@dataclass(frozen=True, slots=True)
class _Member:
    """A member after checks: where it goes and what it is, independent of tar or zip."""

    name: str  # relative posix path inside the target, after stripping; never empty
    kind: str  # "file" | "dir" | "symlink" | "hardlink"
    link: str = ""  # symlink target (as written) or hard link target (relative to target)
    mode: int = 0o644
    index: int = 0  # position in the archive's member list


def is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _normalise(archive: str, raw: str) -> str:
    """A member name as a clean relative path, or UnsafeArchive."""
    if "\x00" in raw:
        raise UnsafeArchive(archive=archive, member=raw, reason="contains a NUL byte")
    if raw.startswith(("/", "\\")) or _DRIVE.match(raw):
        raise UnsafeArchive(archive=archive, member=raw, reason="is an absolute path")
    parts = [p for p in re.split(r"[/\\]", raw) if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(archive=archive, member=raw, reason="has a '..' component")
    return "/".join(parts)


def _check_symlink(archive: str, name: str, target: str) -> None:
    if not target:
        raise UnsafeArchive(archive=archive, member=name, reason="is a symlink with an empty target")
    if target.startswith(("/", "\\")) or _DRIVE.match(target):
        raise UnsafeArchive(
            archive=archive, member=name, reason=f"is a symlink to an absolute path {target!r}"
        )
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchive(
            archive=archive, member=name, reason=f"is a symlink pointing outside ({target!r})"
        )


def _strip_prefix(names: list[tuple[str, bool]], strip_top: bool) -> str | None:
    """The single top-level directory to strip, if asked for and there is exactly one."""
    if not strip_top or not names:
        return None
    tops = {n.split("/", 1)[0] for n, _ in names}
    if len(tops) != 1:
        return None
    (top,) = tops
    if any(n == top and not is_dir for n, is_dir in names):
        return None  # a single top-level *file*: nothing to strip
    return top


def _plan(
    archive: str, raw: list[tuple[str, str, str, int]], strip_top: bool
) -> tuple[list[_Member], str | None]:
    """Check every member (name, kind, link, mode) lexically and apply stripping."""
    clean = [(_normalise(archive, n), kind, link, mode) for n, kind, link, mode in raw]
    named = [(n, kind == "dir") for n, kind, _, _ in clean if n]
    top = _strip_prefix(named, strip_top)
    out: list[_Member] = []
    for index, ((name, kind, link, mode), (orig, *_)) in enumerate(zip(clean, raw, strict=True)):
        if top is not None:
            if name == top or not name:
                continue
            name = name[len(top) + 1 :]
        if not name:
            continue
        if kind == "symlink":
            _check_symlink(archive, name, link)
        elif kind == "hardlink":
            target = _normalise(archive, link)
            if top is not None:
                if not target.startswith(top + "/"):
                    raise UnsafeArchive(
                        archive=archive, member=orig, reason=f"is a hard link outside ({link!r})"
                    )
                target = target[len(top) + 1 :]
            if not target:
                raise UnsafeArchive(archive=archive, member=orig, reason="is a hard link to a directory")
            link = target
        out.append(_Member(name, kind, link, mode, index))
    return out, top


def _prepare_parent(archive: str, root: str, member: _Member) -> Path:
    """Create the member's parent directories inside ``root`` and return its target path.

    Each existing component is resolved on disk; one that resolves outside ``root`` (a link)
    is refused before anything is created beneath it.
    """
    parts = member.name.split("/")
    cur = root
    for part in parts[:-1]:
        cur = os.path.join(cur, part)
        if os.path.islink(cur) and not is_within(os.path.realpath(cur), root):
            raise UnsafeArchive(
                archive=archive, member=member.name, reason="would be written through a link outside"
            )
        if not os.path.lexists(cur):
            os.mkdir(cur, 0o755)
        elif not os.path.isdir(cur):
            raise UnsafeArchive(archive=archive, member=member.name, reason="has a non-directory as parent")
    parent = os.path.realpath(cur)
    if not is_within(parent, root):
        raise UnsafeArchive(archive=archive, member=member.name, reason="would be written outside the target")
    target = os.path.join(parent, parts[-1])
    if member.kind != "dir" and os.path.lexists(target):
        if os.path.isdir(target) and not os.path.islink(target):
            raise UnsafeArchive(archive=archive, member=member.name, reason="would replace a directory")
        os.unlink(target)  # never write through an existing link
    if member.kind == "symlink":
        resolved = os.path.realpath(os.path.join(parent, member.link))
        if not is_within(resolved, root):
            raise UnsafeArchive(
                archive=archive, member=member.name, reason=f"is a symlink pointing outside ({member.link!r})"
            )
    if member.kind == "hardlink":
        src = os.path.realpath(os.path.join(root, member.link))
        if not is_within(src, root) or not os.path.isfile(src):
            raise UnsafeArchive(
                archive=archive,
                member=member.name,
                reason=f"is a hard link to {member.link!r}, not a file extracted here",
            )
    return Path(target)


def _sniff(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4)
    if head[:2] == b"PK" and head[2:4] in (b"\x03\x04", b"\x05\x06", b"\x07\x08"):
        return "zip"
    return "tar"


def extract(archive: Path, dest: Path, *, strip_top: bool = False) -> ExtractResult:
    """Extract ``archive`` into ``dest`` (created if needed), refusing anything unsafe.

    With ``strip_top``, an archive whose members all sit under one directory is unpacked
    without it, as opam does with source tarballs. On :class:`UnsafeArchive` nothing has been
    written outside ``dest``; a member refused during the write phase may leave earlier members
    inside ``dest``, so callers extract into a fresh directory.
    """
    dest.mkdir(parents=True, exist_ok=True)
    root = os.path.realpath(dest)
    label = archive.name
    try:
        if _sniff(archive) == "zip":
            return _extract_zip(archive, root, label, strip_top)
        return _extract_tar(archive, root, label, strip_top)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        if isinstance(e, tarfile.FilterError):
            member = e.tarinfo.name if e.tarinfo is not None else "?"
            raise UnsafeArchive(archive=label, member=member, reason=str(e)) from e
        raise UnreadableArchive(f"cannot extract {archive}: {e}") from e


def _tar_kind(archive: str, m: tarfile.TarInfo) -> str:
    if m.isdir():
        return "dir"
    if m.issym():
        return "symlink"
    if m.islnk():
        return "hardlink"
    if m.ischr() or m.isblk():
        raise UnsafeArchive(archive=archive, member=m.name, reason="is a device file")
    if m.isfifo():
        raise UnsafeArchive(archive=archive, member=m.name, reason="is a FIFO")
    if m.isreg():
        return "file"
    raise UnsafeArchive(archive=archive, member=m.name, reason=f"has unsupported type {m.type!r}")


def _extract_tar(archive: Path, root: str, label: str, strip_top: bool) -> ExtractResult:
    with tarfile.open(archive, mode="r:*") as tf:
        members = tf.getmembers()
        raw = [(m.name, _tar_kind(label, m), m.linkname, m.mode) for m in members]
        planned, top = _plan(label, raw, strip_top)
        for pm in planned:
            target = _prepare_parent(label, root, pm)
            if pm.kind == "hardlink":
                # Done here, not by tarfile: its fallback for a failed link re-extracts the
                # target member by name, which recurses forever on a link to itself.
                _hardlink(os.path.join(root, pm.link), target)
                continue
            link = pm.link if pm.kind == "symlink" else ""
            info = members[pm.index].replace(name=pm.name, linkname=link, deep=False)
            tf.extract(info, root, set_attrs=True, filter="data")
    return ExtractResult(len(planned), top)


def _hardlink(src: str, target: Path) -> None:
    try:
        os.link(src, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, target)


def _zip_members(archive: str, zf: zipfile.ZipFile) -> Iterator[tuple[str, str, str, int]]:
    for info in zf.infolist():
        mode = (info.external_attr >> 16) if info.create_system == 3 else 0
        fmt = stat.S_IFMT(mode)
        if info.filename.endswith("/") or fmt == stat.S_IFDIR:
            yield info.filename, "dir", "", 0o755
        elif fmt == stat.S_IFLNK:
            yield info.filename, "symlink", zf.read(info).decode("utf-8", errors="surrogateescape"), 0o777
        elif fmt in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
            raise UnsafeArchive(archive=archive, member=info.filename, reason="is a device file")
        else:
            yield info.filename, "file", "", 0o755 if mode & 0o111 else 0o644


def _extract_zip(archive: Path, root: str, label: str, strip_top: bool) -> ExtractResult:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        planned, top = _plan(label, list(_zip_members(label, zf)), strip_top)
        for pm in planned:
            target = _prepare_parent(label, root, pm)
            if pm.kind == "dir":
                if not target.is_dir():
                    target.mkdir(0o755)
            elif pm.kind == "symlink":
                os.symlink(pm.link, target)
            else:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, pm.mode)
                with os.fdopen(fd, "wb") as out, zf.open(infos[pm.index]) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                os.chmod(target, pm.mode)
    return ExtractResult(len(planned), top)
