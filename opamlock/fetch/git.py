"""Git sources: fetch one pinned commit with the git CLI and archive its tree deterministically.

The store holds files, not repositories, so a ``git+…#<commit>`` source becomes a tarball of the
tree at that commit. ``git archive`` given a *commit* stamps every member with the commit's
committer time (given only a tree it would use the current time), so the tarball's bytes depend
on the commit alone, once user and system git config (umask, eol conversion) are shut out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from opamlock.fetch.errors import ToolMissing

#: Config that would otherwise let the user's git settings change the archive's bytes.
_PINNED_CONFIG = ("-c", "tar.umask=0022", "-c", "core.autocrlf=false", "-c", "core.eol=lf")


class GitFailed(Exception):
    """A git command failed; the message is git's own stderr tail (the fetcher tries the next URL)."""


def transport_url(url: str) -> str:
    """The URL git understands: ``git+https://h/r.git#c`` becomes ``https://h/r.git``."""
    parts = urlsplit(url)
    scheme = parts.scheme.removeprefix("git+")
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def archive_prefix(commit: str) -> str:
    """The single top-level directory of a git tarball; it depends only on the commit."""
    return f"git-{commit[:12]}/"


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        LC_ALL="C",
    )
    return env


def _run(args: list[str], cwd: Path, timeout: float) -> None:
    try:
        proc = subprocess.run(
            ["git", *_PINNED_CONFIG, *args],
            cwd=cwd,
            env=_git_env(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise GitFailed(f"git {args[0]} timed out after {timeout:.0f}s") from e
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise GitFailed(f"git {args[0]} failed: " + " / ".join(tail))


def require_git() -> str:
    git = shutil.which("git")
    if git is None:
        raise ToolMissing("git is not installed but the lock has git sources", hint="apt-get install git")
    return git


def archive_commit(url: str, commit: str, write: Callable[[bytes], None], *, timeout: float = 600.0) -> None:
    """Fetch ``commit`` from ``url`` and stream its tar archive to ``write``.

    A shallow fetch of the commit is tried first (servers that allow fetching by hash, which
    includes GitHub and local repositories); if refused, every ref is fetched and the commit
    must be among them.
    """
    require_git()
    remote = transport_url(url)
    with tempfile.TemporaryDirectory(prefix="opamlock-git-") as d:
        repo = Path(d)
        _run(["init", "-q", "--bare"], repo, timeout)
        try:
            _run(["fetch", "-q", "--depth", "1", remote, commit], repo, timeout)
        except GitFailed:
            _run(["fetch", "-q", remote, "+refs/*:refs/remotes/origin/*"], repo, timeout)
        _run(["cat-file", "-e", f"{commit}^{{commit}}"], repo, timeout)
        cmd = [
            "git",
            *_PINNED_CONFIG,
            "archive",
            "--format=tar",
            f"--prefix={archive_prefix(commit)}",
            commit,
        ]
        with subprocess.Popen(
            cmd, cwd=repo, env=_git_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as proc:
            assert proc.stdout is not None
            while chunk := proc.stdout.read(1 << 20):
                write(chunk)
            err = proc.stderr.read() if proc.stderr else b""
            if proc.wait(timeout=timeout) != 0:
                raise GitFailed("git archive failed: " + err.decode(errors="replace").strip())
