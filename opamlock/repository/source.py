"""Where a repository's files come from: a directory, a tarball, or a git commit.

Each source answers two questions. *Quickly*: has this content been seen before (a git commit,
or a stat fingerprint of a directory or archive recorded on an earlier load)? *Slowly*: what are
its packages (read every ``opam`` file and its ``files/``)?

Package discovery follows opam (``OpamRepositoryState.load_opams_from_dir``): below
``packages/``, a folder holding a regular file ``opam`` is the package ``name.version`` named by
the folder (split at the first ``.``), and opam does not look deeper inside it; other folders are
searched recursively. A package's ``files/`` folder is part of its definition.

A source also says which commit its content was taken from, when it can know (a git commit, a
``git archive`` tarball): :class:`Provenance`. That is not part of the identity, which names the
content, but it gives the lock its commits and builds their ``SOURCE_DATE_EPOCH``.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from opamlock.errors import OpamlockError
from opamlock.repository import _tar

__all__ = [
    "DirSource",
    "GitSource",
    "LoadProblem",
    "Provenance",
    "RawPackage",
    "RepositoryError",
    "Source",
    "TarSource",
    "content_identity",
    "open_source",
]

_NV = re.compile(r"([A-Za-z0-9_+\-]+)\.([A-Za-z0-9_+.~\-]+)\Z")


class RepositoryError(OpamlockError):
    """A repository that cannot be found, read or checked out."""


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """Something in a repository that opam would skip (and so do we), kept to be reported."""

    path: str
    message: str
    line: int = 0
    col: int = 0

    def render(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.col}: {self.message}"
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class Provenance:
    """The commit a repository's content comes from and its committer time (Unix seconds).

    Both None for a plain folder, or an archive that does not say (not made by ``git archive``).
    """

    commit: str | None = None
    commit_time: int | None = None


@dataclass(frozen=True, slots=True)
class RawPackage:
    """One package folder as read from a source, before parsing."""

    relpath: str  # the package folder, relative to the repository root: packages/foo/foo.1.0
    name: str
    version: str
    opam: bytes
    files: tuple[tuple[str, bytes], ...]  # (path below files/, content), sorted by path


def content_identity(packages: Iterable[RawPackage]) -> str:
    """``sha256:`` over the sorted (path, sha256 of bytes) of every opam file and ``files/`` entry.

    The same content gives the same identity whether it came from a folder or an archive.
    """
    lines: list[str] = []
    for p in packages:
        lines.append(f"{p.relpath}/opam\0{hashlib.sha256(p.opam).hexdigest()}\n")
        for rel, data in p.files:
            lines.append(f"{p.relpath}/files/{rel}\0{hashlib.sha256(data).hexdigest()}\n")
    lines.sort()
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8", "surrogateescape"))
    return "sha256:" + h.hexdigest()


def _split_nv(dirname: str) -> tuple[str, str] | None:
    m = _NV.match(dirname)  # the name stops at the first dot: names have none
    return None if m is None else (m.group(1), m.group(2))


def _make_package(relpath: str, opam: bytes, files: list[tuple[str, bytes]],
                  problems: list[LoadProblem]) -> RawPackage | None:
    nv = _split_nv(relpath.rpartition("/")[2])
    if nv is None:
        problems.append(LoadProblem(relpath, "folder name is not NAME.VERSION; opam ignores it"))
        return None
    files.sort()
    return RawPackage(relpath, nv[0], nv[1], opam, tuple(files))


def group_files(
    files: Iterable[tuple[str, bytes | memoryview]],
) -> tuple[list[RawPackage], list[LoadProblem]]:
    """Group a flat listing (paths relative to the repository root) into package folders."""
    opams: dict[str, bytes | memoryview] = {}
    others: list[tuple[str, bytes | memoryview]] = []
    for path, data in files:
        if not path.startswith("packages/"):
            continue
        head, _, base = path.rpartition("/")
        if base == "opam":
            opams[head] = data
        else:
            others.append((path, data))
    # A folder holding `opam` below another package folder is not a package (opam stops there).
    pkg_dirs: set[str] = set()
    for d in sorted(opams):  # parents sort before their children
        parent = d.rpartition("/")[0]
        nested = False
        while parent != "packages" and "/" in parent:
            if parent in pkg_dirs:
                nested = True
                break
            parent = parent.rpartition("/")[0]
        if not nested:
            pkg_dirs.add(d)
    pkg_files: dict[str, list[tuple[str, bytes]]] = {d: [] for d in pkg_dirs}
    for path, data in others:
        parts = path.split("/")
        for i in range(2, len(parts) - 1):
            if parts[i] == "files" and "/".join(parts[:i]) in pkg_dirs:
                pkg_files["/".join(parts[:i])].append(("/".join(parts[i + 1:]), bytes(data)))
                break
    problems: list[LoadProblem] = []
    out: list[RawPackage] = []
    for d in sorted(pkg_dirs):
        p = _make_package(d, bytes(opams[d]), pkg_files[d], problems)
        if p is not None:
            out.append(p)
    return out, problems


class Source:
    """A place packages are read from. Subclasses fill in the three hooks."""

    kind = "?"

    def __init__(self, location: str) -> None:
        self.location = location
        self._provenance = Provenance()

    def provenance(self) -> Provenance:
        """Where the content comes from; for archives, known once :meth:`read` has run."""
        return self._provenance

    def default_name(self) -> str:
        raise NotImplementedError

    def fingerprint(self, record: object) -> str | None:
        """A cheap key that changes whenever content may have changed, or None if unknown.

        ``record`` is what :meth:`read` returned as its fingerprint record on an earlier load
        (None if there was none); a directory needs it to know which paths to stat.
        """
        return None

    def known_identity(self) -> str | None:
        """The identity when it can be known without reading the content (a git commit)."""
        return None

    def read(self) -> tuple[list[RawPackage], list[LoadProblem], object]:
        """Every package, the problems met, and a record for :meth:`fingerprint` next time."""
        raise NotImplementedError


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    # ctime too: an edit that keeps the size and restores the mtime still changes it.
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


class DirSource(Source):
    """A checked-out repository folder (holding ``packages/``)."""

    kind = "dir"

    def __init__(self, location: str, root: Path) -> None:
        super().__init__(location)
        self.root = root

    def default_name(self) -> str:
        return self.root.resolve().name or "repository"

    def fingerprint(self, record: object) -> str | None:
        # Every folder on the known structure and every file read: adding or removing anything
        # changes some folder's mtime, and editing a file changes its own.
        if not isinstance(record, tuple):
            return None
        # Paths relative to an open root (fewer components to resolve for each of ~40,000 stats),
        # and the numbers hashed as packed ints rather than as text.
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            stats = [os.stat(rel, dir_fd=fd) for rel in record if isinstance(rel, str)]
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(stats) != len(record):
            return None
        keys = array("q")
        for st in stats:
            keys.extend(_stat_key(st))
        return "dir:" + hashlib.sha256(keys.tobytes()).hexdigest()

    def read(self) -> tuple[list[RawPackage], list[LoadProblem], object]:
        pkgs_dir = self.root / "packages"
        if not pkgs_dir.is_dir():
            raise RepositoryError(f"{self.location}: no packages/ folder",
                                  hint="an opam repository holds packages/NAME/NAME.VERSION/opam")
        watched: list[str] = ["packages"]
        out: list[RawPackage] = []
        problems: list[LoadProblem] = []
        stack = ["packages"]
        root = str(self.root)
        while stack:
            rel = stack.pop()
            # Most folders are package folders: read their `opam` straight away, and list a folder
            # only when it has none (listing every package folder cost more than parsing on
            # overlay file systems).
            try:
                data = _read_regular(f"{root}/{rel}/opam")
            except OSError as e:
                readable = os.access(f"{root}/{rel}", os.R_OK | os.X_OK)
                where = "cannot read" if readable else "cannot read folder"
                problems.append(LoadProblem(rel, f"{where}: {e.strerror}"))
                continue
            if data is None:
                try:
                    with os.scandir(f"{root}/{rel}") as it:
                        subdirs = sorted(e.name for e in it if e.is_dir())
                except OSError as e:
                    problems.append(LoadProblem(rel, f"cannot read folder: {e.strerror}"))
                    continue
                for name in reversed(subdirs):
                    watched.append(f"{rel}/{name}")
                    stack.append(f"{rel}/{name}")
                continue
            watched.append(f"{rel}/opam")
            files: list[tuple[str, bytes]] = []
            try:
                if os.path.isdir(f"{root}/{rel}/files"):
                    self._read_files(f"{rel}/files", files, watched)
            except OSError as e:
                problems.append(LoadProblem(rel, f"cannot read: {e.strerror}"))
                continue
            p = _make_package(rel, data, files, problems)
            if p is not None:
                out.append(p)
        out.sort(key=lambda p: p.relpath)
        return out, problems, tuple(watched)

    def _read_files(self, rel: str, out: list[tuple[str, bytes]], watched: list[str]) -> None:
        base = self.root / rel
        watched.append(rel)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            sub = Path(dirpath).relative_to(base).as_posix()
            for d in dirnames:
                watched.append(f"{rel}/{d}" if sub == "." else f"{rel}/{sub}/{d}")
            for f in sorted(filenames):
                path = Path(dirpath) / f
                if not path.is_file():
                    continue
                name = f if sub == "." else f"{sub}/{f}"
                watched.append(f"{rel}/{name}")
                out.append((name, path.read_bytes()))


def _read_regular(path: str) -> bytes | None:
    """The content of ``path`` if it is a regular file (after symlinks), None if it is absent or
    anything else; other failures (permissions, I/O) raise ``OSError``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # non-blocking: a FIFO must not hang us
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        want = st.st_size + 1  # one more than the size: a short read then proves the end
        data = os.read(fd, want)
        if len(data) < want:
            return data
        chunks = [data]  # the file grew meanwhile
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _strip_top(files: list[tuple[str, memoryview]]) -> list[tuple[str, memoryview]]:
    """git-archive style archives put everything in one top folder; make paths root-relative."""
    if any(p.startswith("packages/") for p, _ in files):
        return files
    tops = {p.split("/", 1)[0] for p, _ in files if "/" in p}
    if len(tops) == 1:
        (top,) = tops
        n = len(top) + 1
        return [(p[n:], d) for p, d in files if p.startswith(top + "/")]
    return files


class TarSource(Source):
    """A ``.tar.gz``/``.tgz``/``.tar`` of a repository, read in memory without unpacking."""

    kind = "tar"

    def __init__(self, location: str, path: Path) -> None:
        super().__init__(location)
        self.path = path

    def default_name(self) -> str:
        name = self.path.name
        for suffix in (".tar.gz", ".tgz", ".tar"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
        return name

    def fingerprint(self, record: object) -> str | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return f"tar:{self.path.resolve()}:{_stat_key(st)}"

    def read(self) -> tuple[list[RawPackage], list[LoadProblem], object]:
        try:
            data = self.path.read_bytes()
        except OSError as e:
            raise RepositoryError(f"{self.location}: cannot read: {e.strerror}") from e
        pkgs, problems, self._provenance = _read_tar(self.location, data)
        return pkgs, problems, None


def _read_tar(location: str, data: bytes) -> tuple[list[RawPackage], list[LoadProblem], Provenance]:
    try:
        tar = _tar.decompress(data)
        files = _strip_top(list(_tar.iter_files(tar)))
        made_by_git = _tar.git_commit(tar)
    except _tar.TarError as e:
        raise RepositoryError(f"{location}: {e}", hint="expected a .tar.gz of an opam repository") from e
    if not any(p.startswith("packages/") for p, _ in files):
        raise RepositoryError(f"{location}: the archive has no packages/ folder",
                              hint="an opam repository holds packages/NAME/NAME.VERSION/opam")
    pkgs, problems = group_files(files)
    return pkgs, problems, Provenance(*made_by_git) if made_by_git else Provenance()


def _run_git(args: list[str], cwd: Path | None = None) -> bytes:
    try:
        r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as e:
        raise RepositoryError("git is not installed", hint="install git to load git repositories") from e
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepositoryError(f"git {' '.join(args[:2])} failed: {msg[-1] if msg else r.returncode}")
    return r.stdout


class GitSource(Source):
    """A git repository (local path or URL) at a commit; content is read with ``git archive``."""

    kind = "git"

    def __init__(self, location: str, url: str, commit: str | None, mirror_dir: Path) -> None:
        super().__init__(location)
        self.url = url
        self.ref = commit
        self.mirror_dir = mirror_dir
        self._commit: str | None = None
        self._gitdir: Path | None = None

    def default_name(self) -> str:
        tail = self.url.rstrip("/").rsplit("/", 1)[-1]
        return tail.removesuffix(".git") or "repository"

    def _local_path(self) -> Path | None:
        if self.url.startswith("file://"):
            return Path(self.url[len("file://"):])
        if "://" not in self.url:
            return Path(self.url)
        return None

    def _repo(self) -> Path:
        if self._gitdir is not None:
            return self._gitdir
        local = self._local_path()
        if local is not None:
            if not local.exists():
                raise RepositoryError(f"{self.location}: no such git repository")
            self._gitdir = local
            return local
        # A remote: keep a bare mirror in the cache, fetched on demand.
        key = hashlib.sha256(self.url.encode()).hexdigest()[:24]
        mirror = self.mirror_dir / f"{key}.git"
        if not mirror.exists():
            self.mirror_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.mirror_dir / f"{key}.tmp-{os.getpid()}"
            _run_git(["clone", "--bare", "--quiet", self.url, str(tmp)])
            os.replace(tmp, mirror)
        self._gitdir = mirror
        return mirror

    def known_identity(self) -> str | None:
        return "git:" + self.commit()

    def commit(self) -> str:
        if self._commit is None:
            repo = self._repo()
            ref = self.ref or "HEAD"
            try:
                out = _run_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=repo)
            except RepositoryError:
                if self._local_path() is not None:
                    raise RepositoryError(f"{self.location}: no commit {ref!r}") from None
                _run_git(["fetch", "--quiet", "origin", ref], cwd=repo)
                out = _run_git(["rev-parse", "--verify", "FETCH_HEAD^{commit}"], cwd=repo)
            self._commit = out.decode().strip()
        return self._commit

    def provenance(self) -> Provenance:
        if self._provenance.commit is None:
            commit = self.commit()
            # The committer time, which `git archive` also stamps on every member.
            out = _run_git(["show", "-s", "--no-show-signature", "--format=%ct", commit], cwd=self._repo())
            try:
                self._provenance = Provenance(commit, int(out.decode().split()[-1]))
            except (ValueError, IndexError):
                raise RepositoryError(f"{self.location}: git show gave no commit time for {commit}") from None
        return self._provenance

    def read(self) -> tuple[list[RawPackage], list[LoadProblem], object]:
        commit = self.commit()
        data = _run_git(["archive", "--format=tar", commit, "--", "packages"], cwd=self._repo())
        pkgs, problems, _ = _read_tar(f"{self.location}@{commit}", data)
        return pkgs, problems, None


def open_source(spec: str | os.PathLike[str], commit: str | None, mirror_dir: Path) -> Source:
    """Decide what kind of source ``spec`` names."""
    text = os.fspath(spec)
    if text.startswith("git+"):
        url, _, frag = text[len("git+"):].partition("#")
        return GitSource(text, url, commit or frag or None, mirror_dir)
    if "://" in text and (commit is not None or text.endswith(".git") or text.startswith(("git://", "ssh://"))):
        url, _, frag = text.partition("#")
        return GitSource(text, url, commit or frag or None, mirror_dir)
    if "://" in text:
        raise RepositoryError(f"unsupported repository URL {text!r}",
                              hint="use git+https://… or git+file://… for git, or a local folder or .tar.gz")
    path = Path(text)
    if path.is_dir():
        if commit is None and (path / "packages").is_dir():
            return DirSource(text, path)
        if (path / ".git").exists() or (path / "HEAD").is_file():
            return GitSource(text, text, commit, mirror_dir)
        raise RepositoryError(f"{text}: not an opam repository (no packages/ folder)",
                              hint="an opam repository holds packages/NAME/NAME.VERSION/opam")
    if path.is_file():
        if commit is not None:
            raise RepositoryError(f"{text}: a commit can only be given for a git repository")
        return TarSource(text, path)
    raise RepositoryError(f"repository {text!r} not found",
                          hint="give a folder holding packages/, a .tar.gz, or git+URL")

