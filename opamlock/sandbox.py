"""Run one build step inside bubblewrap, so that a build cannot reach the network or the host.

A hermetic build is only as good as its weakest step: one ``curl`` in a Makefile, or one write to
``~/.opam``, and the result depends on the machine. Every step therefore runs under ``bwrap`` with
fresh network, IPC, PID and UTS namespaces, the host file system read-only, only the build
directory writable, a private ``/tmp``, and an environment cleared down to a fixed list. Read-only
is not private: ``~/.ssh``, cloud credentials or the user's ``~/.opam`` would still be readable, and
a build could copy them into its output. So the users' homes (``/root``, ``/home``, ``$HOME``) and
the user's opam root are covered with empty tmpfs; the build directory (and any path the caller
binds) is bound back on top when it lives under one of them. Output
goes to a per-step log file; a failing step raises :class:`SandboxError` with the package, the
command and the tail of that log, which is what a user needs to act on.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opamlock.errors import OpamlockError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_TAIL_LINES = 30
#: Never hidden, nor anything above them: the sandbox needs the system they hold (a user whose
#: ``$HOME`` is ``/`` or ``/usr/...`` keeps it visible rather than losing the toolchain).
_SYSTEM = tuple(Path(p) for p in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/dev", "/proc", "/var"))
#: Already private inside the sandbox (a fresh tmpfs each).
_PRIVATE = (Path("/tmp"), Path("/run"))


def host_private_paths(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Host folders with the user's private files: ``/root``, ``/home``, ``$HOME`` (and the
    password database's home, in case ``$HOME`` was changed), ``$OPAMROOT`` and ``~/.opam``."""
    e = os.environ if env is None else env
    out = [Path("/root"), Path("/home")]
    homes = [e.get("HOME") or ""]
    with contextlib.suppress(KeyError):
        homes.append(pwd.getpwuid(os.getuid()).pw_dir)
    for h in homes:
        if h:
            out += [Path(h), Path(h) / ".opam"]
    if e.get("OPAMROOT"):
        out.append(Path(e["OPAMROOT"]))
    return tuple(out)


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class SandboxError(OpamlockError):
    """A step failed inside the sandbox (non-zero exit or time-out)."""

    def __init__(
        self,
        message: str,
        *,
        package: str | None,
        command: Sequence[str],
        log: Path | None,
        log_tail: str,
        returncode: int | None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.package = package
        self.command = tuple(command)
        self.log = log
        self.log_tail = log_tail
        self.returncode = returncode

    def render(self) -> str:
        out = [self.message, f"command: {' '.join(self.command)}"]
        if self.log is not None:
            out.append(f"log: {self.log}")
        if self.log_tail:
            out.append("last lines of the log:")
            out.extend("  " + line for line in self.log_tail.splitlines())
        if self.hint:
            out.append(f"hint: {self.hint}")
        return "\n".join(out)


class SandboxUnavailable(OpamlockError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Sandbox:
    """The policy for every step of one build.

    ``build_dir`` is the only writable host path (plus ``rw_paths``); ``ro_paths`` are re-exposed
    read-only after the private ``/tmp`` is mounted, so inputs that live under ``/tmp`` stay
    visible. ``HOME`` is ``build_dir/home`` so tools that insist on a home write there.
    """

    build_dir: Path
    source_date_epoch: int = 0
    path: str = DEFAULT_PATH
    env: Mapping[str, str] = field(default_factory=dict)
    ro_paths: tuple[Path, ...] = ()
    rw_paths: tuple[Path, ...] = ()
    share_net: bool = False
    """Only for steps that are documented to need the network; never set by ``opamlock build``."""
    hidden_paths: tuple[Path, ...] | None = None
    """Host folders covered with an empty tmpfs; None: :func:`host_private_paths` of this process."""

    def hidden(self) -> list[Path]:
        """The folders actually hidden: existing, outside the build, not system ones, not nested."""
        build = self.build_dir.resolve()
        found: list[Path] = []
        wanted = host_private_paths() if self.hidden_paths is None else self.hidden_paths
        for p in wanted:
            try:
                r = Path(p).resolve()
            except OSError:
                continue
            if not r.is_dir() or r == Path("/") or any(_under(s, r) for s in _SYSTEM):
                continue
            if _under(r, build) or any(_under(r, t) for t in _PRIVATE):
                continue
            found.append(r)
        found.sort()
        return [p for p in found if not any(q != p and _under(p, q) for q in found)]

    def environment(self) -> dict[str, str]:
        """The complete environment a step sees: fixed values first, then the caller's extras."""
        home = self.build_dir.resolve() / "home"
        env = {
            "PATH": self.path,
            "HOME": str(home),
            "TZ": "UTC",
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
            "SOURCE_DATE_EPOCH": str(self.source_date_epoch),
            "TMPDIR": "/tmp",
            "USER": "opamlock",
        }
        env.update(self.env)
        return env

    def argv(self, command: Sequence[str], *, cwd: Path | None = None) -> list[str]:
        """The full ``bwrap`` command line that runs ``command``."""
        build = str(self.build_dir.resolve())
        args = [
            bwrap_path(),
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-uts",
            "--hostname",
            "opamlock",
            "--die-with-parent",
            "--new-session",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/run",
        ]
        if not self.share_net:
            args.insert(1, "--unshare-net")
        # Order matters: later mounts cover earlier ones, so the host paths the build needs are
        # bound after the private /tmp and /run and the hidden homes. Tools on the step's PATH
        # that live in a hidden folder are bound back read-only, or the step could not run them.
        hidden = self.hidden()
        for p in hidden:
            args += ["--tmpfs", str(p)]
        path_dirs = self.environment().get("PATH", "").split(":")
        for d in sorted({Path(x).resolve() for x in path_dirs if x.startswith("/")}):
            if d.is_dir() and any(_under(d, h) for h in hidden):
                args += ["--ro-bind", str(d), str(d)]
        for p in self.ro_paths:
            args += ["--ro-bind", str(p.resolve()), str(p.resolve())]
        for p in self.rw_paths:
            args += ["--bind", str(p.resolve()), str(p.resolve())]
        args += ["--bind", build, build]
        args += ["--clearenv"]
        for k, v in sorted(self.environment().items()):
            args += ["--setenv", k, v]
        args += ["--chdir", str((cwd or self.build_dir).resolve())]
        args += ["--", *command]
        return args

    def run(
        self,
        command: Sequence[str],
        *,
        log: Path,
        cwd: Path | None = None,
        package: str | None = None,
        step: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Run ``command`` in the sandbox, appending its stdout and stderr to ``log``.

        Raises :class:`SandboxError` on a non-zero exit or when ``timeout`` seconds pass.
        """
        (self.build_dir / "home").mkdir(parents=True, exist_ok=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        what = step or (command[0] if command else "step")
        who = f" of {package}" if package else ""

        def failed(how: str, returncode: int | None) -> SandboxError:
            return SandboxError(f"{what}{who} {how}", package=package, command=command, log=log,
                                log_tail=log_tail(log), returncode=returncode)

        with log.open("ab") as out:
            out.write(f"$ {' '.join(command)}\n".encode())
            out.flush()
            try:
                proc = subprocess.run(
                    self.argv(command, cwd=cwd),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as e:
                raise failed(f"timed out after {timeout:g} s", None) from e
        if proc.returncode != 0:
            raise failed(f"failed with exit code {proc.returncode}", proc.returncode)


def log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log, decoded leniently (build output is not always UTF-8)."""
    try:
        data = log.read_bytes()
    except OSError:
        return ""
    text = data[-64 * 1024 :].decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def bwrap_path() -> str:
    """The bwrap executable, or a clear error naming the Debian package."""
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed; opamlock runs every build step inside it",
            hint="install it: apt-get install bubblewrap",
        )
    return found


@functools.cache
def check_available() -> None:
    """Prove once per process that bwrap can create the namespaces a build needs.

    bwrap is often present yet unusable: unprivileged user namespaces disabled by sysctl, or a
    container without CAP_SYS_ADMIN. A tiny probe finds out before any build step and explains
    why, instead of a confusing failure in the middle of an opam install.
    """
    exe = bwrap_path()
    probe = [
        exe, "--unshare-net", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
        "--clearenv", "--", "/bin/sh", "-c", "exit 0",
    ]  # fmt: skip
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxUnavailable(f"bubblewrap could not be run: {e}") from e
    if proc.returncode != 0:
        raise SandboxUnavailable(
            "bubblewrap cannot create a sandbox here: " + (proc.stderr.strip() or f"exit {proc.returncode}"),
            hint=_namespace_hint(),
        )


def _namespace_hint() -> str:
    reasons = []
    if os.geteuid() != 0:
        for knob, path in (
            ("kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone"),
            ("user.max_user_namespaces", "/proc/sys/user/max_user_namespaces"),
            (
                "kernel.apparmor_restrict_unprivileged_userns",
                "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            ),
        ):
            try:
                value = Path(path).read_text().strip()
            except OSError:
                continue
            bad = value == "0" if knob != "kernel.apparmor_restrict_unprivileged_userns" else value == "1"
            if bad:
                reasons.append(f"sysctl {knob} = {value}")
    msg = "bwrap needs user namespaces (or root with CAP_SYS_ADMIN)"
    if reasons:
        msg += "; on this machine " + ", ".join(reasons)
    return msg + "; inside a container, run it with --privileged or allow unshare(2)"
