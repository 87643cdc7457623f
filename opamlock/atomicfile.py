"""Replacing a file safely: readers see the old bytes or the new ones, never a torn mix.

Used for every file opamlock writes into a user's project (``opamlock.toml``, ``opamlock.lock``,
``*.opam.locked``): write a temporary file in the same directory, fsync it, ``os.replace`` it over
the target, fsync the directory. A run killed at any point leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
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


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` so a reader sees the old bytes or the new, never a mix.

    Raises :class:`WriteError` when the system refuses (missing directory, permissions, full disk).
    """
    with _reported(path, path.parent):
        _replace(path, data)


def _replace(path: Path, data: bytes) -> None:
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
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


