"""Replacing a file safely: readers see the old bytes or the new ones, never a torn mix.

Used for every file opamlock writes into a user's project (``opamlock.toml``, ``opamlock.lock``,
``*.opam.locked``) and for the repository index cache: write a temporary file in the same
directory, fsync it, ``os.replace`` it over the target, fsync the directory. A run killed at any
point leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from opamlock.errors import OpamlockError

__all__ = ["WriteError", "atomic_write", "directory_lock"]


class WriteError(OpamlockError):
    """A file could not be written: its directory is missing or read-only, or the disk is full."""


@contextlib.contextmanager
def _reported(path: Path, directory: Path) -> Iterator[None]:
    """The operating system's refusal as a user error naming the file, not a traceback."""
    try:
        yield
    except OSError as e:
        raise WriteError(
            f"cannot write {path}: {e.strerror or e}",
            hint=f"check that {directory} exists, is writable and has space left",
        ) from e


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory`` so concurrent lock runs take turns.

    Locking the directory itself leaves no stray file in the user's project, and the kernel drops
    the lock if the process dies, so a killed run never blocks the next one.
    """
    with _reported(directory, directory):
        fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


#: Chunks per ``writev`` call (at most IOV_MAX, 1024 on Linux).
_IOV = 1024


def atomic_write(path: Path, data: bytes | Sequence[bytes]) -> None:
    """Replace ``path`` by ``data`` (bytes, or pieces written in order) so a reader sees the old
    bytes or the new, never a mix.

    Raises :class:`WriteError` when the system refuses (missing directory, permissions, full disk).
    """
    chunks: Sequence[bytes] = [data] if isinstance(data, bytes) else data
    with _reported(path, path.parent):
        _replace(path, chunks)


def write_all(fd: int, chunks: Sequence[bytes]) -> None:
    """Write ``chunks`` in order with few system calls, finishing any short write.

    A repository index is ~40,000 small pieces (a tree and an opam file per package); ``writev``
    takes a thousand at a time, four times faster than a buffered file writing them one by one.
    """
    for i in range(0, len(chunks), _IOV):
        batch = chunks[i : i + _IOV]
        done = os.writev(fd, batch)
        if done < sum(len(c) for c in batch):  # a short write: finish this batch piece by piece
            for c in batch:
                if done >= len(c):
                    done -= len(c)
                    continue
                view = memoryview(c)[done:]
                done = 0
                while view:
                    view = view[os.write(fd, view) :]


def _replace(path: Path, chunks: Sequence[bytes]) -> None:
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        try:
            write_all(fd, chunks)
            os.fsync(fd)
        finally:
            os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


