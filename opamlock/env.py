"""The solver environment: platform variables and the variables a package's formulas can see.

opam evaluates ``available`` and ``depends`` filters against *global* variables (``os``,
``arch``…), the solving flags (``build``, ``post``, ``with-test``…) and the package's own
``name``/``version``. Other packages' variables (``foo:version``) are undefined there, which
is why such atoms are dropped. This module builds those mappings explicitly, so evaluation stays
pure and a lock can record exactly which values it was solved for.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opamlock.errors import UsageError

__all__ = [
    "PlatformVars",
    "SolveFlags",
    "conflicts_env",
    "detect_platform",
    "host_platform",
    "normalise_arch",
    "normalise_os",
    "package_env",
    "parse_var_assignments",
]

#: The opam release a lock targets by default; set deliberately, not read from the machine.
DEFAULT_OPAM_VERSION = "2.1.6"

_ARM32_PREFIXES = ("armv5", "armv6", "earmv6", "armv7", "earmv7")


def normalise_arch(raw: str) -> str:
    """``uname -m`` to opam's ``arch`` (``OpamSysPoll.normalise_arch``)."""
    a = raw.lower()
    if a in ("x86", "i386", "i586", "i686"):
        return "x86_32"
    if a in ("x86_64", "amd64"):
        return "x86_64"
    if a in ("powerpc", "ppc", "ppcle"):
        return "ppc32"
    if a in ("ppc64", "ppc64le"):
        return "ppc64"
    if a in ("aarch64_be", "aarch64"):
        return "arm64"
    if a in ("armv8b", "armv8l") or a.startswith(_ARM32_PREFIXES):
        return "arm32"
    return a


def normalise_os(raw: str) -> str:
    """``uname -s`` to opam's ``os``: lower case, with ``darwin`` (and ``osx``) read as ``macos``.

    Python's ``platform.system()`` says ``Windows`` and ``CYGWIN_NT-…`` where opam, reading
    OCaml's ``Sys.os_type``, says ``win32`` and ``cygwin``.
    """
    s = raw.lower()
    if s in ("darwin", "osx"):
        return "macos"
    if s == "windows":
        return "win32"
    if s.startswith("cygwin"):
        return "cygwin"
    return s


@dataclass(frozen=True, slots=True)
class PlatformVars:
    """Global variables for one platform (``os``, ``arch``…), with a stable name for locks."""

    vars: Mapping[str, str]
    name: str = field(default="")

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.vars.get('os', 'any')}-{self.vars.get('arch', 'any')}")

    def with_overrides(self, overrides: Mapping[str, str]) -> PlatformVars:
        merged = {**self.vars, **overrides}
        return PlatformVars(merged, name="" if ("os" in overrides or "arch" in overrides) else self.name)

    def as_dict(self) -> dict[str, str]:
        return dict(sorted(self.vars.items()))


@dataclass(frozen=True, slots=True)
class SolveFlags:
    """Which optional dependency kinds count; test/doc/dev-setup apply to root packages only."""

    with_test: bool = False
    with_doc: bool = False
    with_dev_setup: bool = False


_OS_RELEASE = (Path("/etc/os-release"), Path("/usr/lib/os-release"))


def _os_release(paths: tuple[Path, ...] = _OS_RELEASE) -> dict[str, str]:
    """``KEY=value`` pairs of the first os-release file found (opam reads the same two paths)."""
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        out: dict[str, str] = {}
        for line in text.splitlines():
            m = re.match(r'^([A-Za-z_][A-Za-z0-9_]*)=("?)(.*)\2$', line.strip())
            if m:
                out[m.group(1)] = m.group(3)
        return out
    return {}


def _command_output(args: list[str]) -> str | None:
    """One non-empty output line of a command, or ``None`` (absent command, failure, several lines)."""
    if shutil.which(args[0]) is None:
        return None
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or len(lines) != 1:
        return None
    return lines[0].strip()


def _norm(s: str | None) -> str | None:
    return s.lower() if s else None


def detect_platform(
    *,
    system: str,
    machine: str,
    release: str = "",
    os_release: Mapping[str, str] | None = None,
    lsb_id: str | None = None,
    lsb_release: str | None = None,
    macos_version: str | None = None,
    has_brew: bool = False,
    has_port: bool = False,
    opam_version: str = DEFAULT_OPAM_VERSION,
) -> PlatformVars:
    """opam's platform variables from what the machine reports (``OpamSysPoll``), purely.

    * ``os-distribution`` on Linux: os-release ``ID``, else ``lsb_release -i``, else ``linux``;
      on macOS ``homebrew``/``macports`` when ``brew``/``port`` is installed, else ``macos``;
      elsewhere the ``os`` itself.
    * ``os-version`` on Linux: ``lsb_release -r`` first, then os-release ``VERSION_ID``.
    * ``os-family`` on Linux: the first word of ``ID_LIKE``, else the distribution; ``bsd`` for
      the BSDs and ``windows`` for win32/cygwin; elsewhere the distribution.
    A variable opam would leave undefined is absent from the result.
    """
    rel = os_release or {}
    os_name = normalise_os(system) if system else None
    v: dict[str, str] = {"opam-version": opam_version}
    if machine:
        v["arch"] = normalise_arch(machine)
    if os_name:
        v["os"] = os_name
    distro: str | None
    if os_name == "macos":
        distro = "homebrew" if has_brew else "macports" if has_port else "macos"
    elif os_name == "linux":
        distro = _norm(rel.get("ID")) or _norm(lsb_id) or "linux"
    else:
        distro = os_name
    if distro:
        v["os-distribution"] = distro
    version: str | None
    if os_name == "linux":
        version = _norm(lsb_release) or _norm(rel.get("VERSION_ID"))
    elif os_name == "macos":
        version = _norm(macos_version)
    else:
        version = _norm(release)
    if version:
        v["os-version"] = version
    family: str | None
    if os_name == "linux":
        like = rel.get("ID_LIKE", "").split()
        family = like[0].lower() if like else distro
    elif os_name in ("freebsd", "openbsd", "netbsd", "dragonfly"):
        family = "bsd"
    elif os_name in ("win32", "cygwin"):
        family = "windows"
    else:
        family = distro
    if family:
        v["os-family"] = family
    return PlatformVars(v)


def host_platform(*, opam_version: str = DEFAULT_OPAM_VERSION) -> PlatformVars:
    """The current machine's variables, read the way opam reads them (uname, os-release, lsb_release)."""
    system = platform.system()
    os_name = normalise_os(system)
    linux = os_name == "linux"
    macos = os_name == "macos"
    rel = _os_release() if linux else {}
    release = platform.release()
    if os_name == "freebsd":
        release = _command_output(["uname", "-U"]) or ""
    return detect_platform(
        system=system,
        machine=platform.machine(),
        release=release,
        os_release=rel,
        lsb_id=_command_output(["lsb_release", "-i", "-s"]) if linux and "ID" not in rel else None,
        lsb_release=_command_output(["lsb_release", "-s", "-r"]) if linux else None,
        macos_version=platform.mac_ver()[0] if macos else None,
        has_brew=macos and shutil.which("brew") is not None,
        has_port=macos and shutil.which("port") is not None,
        opam_version=opam_version,
    )


def parse_var_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``--var NAME=VALUE`` arguments into a mapping (a usage error names the bad one)."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-:+]*", name.strip()):
            raise UsageError(f"invalid --var {item!r}", hint="write --var NAME=VALUE, e.g. --var os=macos")
        if name.strip() in _PLATFORM_NAMING and not value.strip():
            # os and arch name the platform in a lock (``linux-x86_64``): empty ones make nonsense names.
            raise UsageError(
                f"invalid --var {item!r}: {name.strip()} cannot be empty",
                hint=f"give a value, e.g. --var {name.strip()}={_PLATFORM_NAMING[name.strip()]}",
            )
        out[name.strip()] = value.strip()
    return out


_PLATFORM_NAMING = {"os": "linux", "arch": "x86_64"}


def package_env(
    platform_vars: PlatformVars,
    name: str,
    version: str,
    *,
    root: bool = False,
    flags: SolveFlags = SolveFlags(),
    dev: bool = False,
) -> dict[str, str | bool]:
    """Variables visible to ``name.version``'s ``depends``/``conflicts``/``available`` when solving."""
    env: dict[str, str | bool] = dict(platform_vars.vars)
    env.update(
        {
            "build": True,
            "post": True,
            "dev": dev,
            "with-test": root and flags.with_test,
            "with-doc": root and flags.with_doc,
            "with-dev-setup": root and flags.with_dev_setup,
        }
    )
    env.update(_own_vars(name, version))
    return env


def env_from_os_environ() -> dict[str, str]:
    """``OPAMVAR_name`` overrides from the environment, as opam honours them."""
    out: dict[str, str] = {}
    for k, v in os.environ.items():
        if k.startswith("OPAMVAR_"):
            out[k[len("OPAMVAR_"):].replace("_", "-")] = v
    return out


def conflicts_env(platform_vars: PlatformVars, name: str, version: str) -> dict[str, str | bool]:
    """Variables visible to ``name.version``'s ``conflicts`` (opam's ``get_conflicts``).

    opam filters ``conflicts`` with the switch environment and ``~default:false``: only global
    variables and the package's own ``name``/``version`` are defined. ``build``, ``post``,
    ``with-test``, ``with-doc``, ``with-dev-setup`` and ``dev`` are *undefined* there, so a conflict
    such as ``"cohttp" {with-test & >= "5.0.0"}`` is always dropped.
    """
    env: dict[str, str | bool] = dict(platform_vars.vars)
    env.update(_own_vars(name, version))
    return env


def _own_vars(name: str, version: str) -> dict[str, str]:
    """The package's own ``name`` and ``version``, bare, as ``_:`` and as ``name:``."""
    return {
        "name": name,
        "version": version,
        "_:name": name,
        "_:version": version,
        f"{name}:name": name,
        f"{name}:version": version,
    }
