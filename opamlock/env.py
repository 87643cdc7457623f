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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opamlock.errors import UsageError

__all__ = ["PlatformVars", "SolveFlags", "host_platform", "package_env", "parse_var_assignments"]

#: The opam release a lock targets by default; set deliberately, not read from the machine.
DEFAULT_OPAM_VERSION = "2.1.6"

_ARCH = {
    "x86_64": "x86_64", "amd64": "x86_64", "i386": "x86_32", "i486": "x86_32", "i586": "x86_32",
    "i686": "x86_32", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm32", "armv6l": "arm32",
    "ppc64le": "ppc64", "ppc64": "ppc64", "s390x": "s390x", "riscv64": "riscv64",
}
_OS = {"linux": "linux", "darwin": "macos", "freebsd": "freebsd", "openbsd": "openbsd",
       "netbsd": "netbsd", "win32": "win32", "cygwin": "cygwin"}


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


def _os_release(path: Path = Path("/etc/os-release")) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r'^([A-Z_]+)=("?)(.*)\2$', line.strip())
        if m:
            out[m.group(1)] = m.group(3)
    return out


def host_platform(*, opam_version: str = DEFAULT_OPAM_VERSION) -> PlatformVars:
    """The current machine's variables, read the way opam reads them (uname, /etc/os-release)."""
    machine = platform.machine().lower()
    system = platform.system().lower()
    os_name = _OS.get(system, system or "unknown")
    v: dict[str, str] = {
        "arch": _ARCH.get(machine, machine or "unknown"),
        "os": os_name,
        "opam-version": opam_version,
    }
    if os_name == "linux":
        rel = _os_release()
        distro = rel.get("ID", "linux").lower()
        v["os-distribution"] = distro
        like = rel.get("ID_LIKE", "").split()
        v["os-family"] = distro if not like else like[0].lower()
        if distro in ("debian", "ubuntu", "alpine", "arch", "fedora", "centos", "opensuse"):
            v["os-family"] = {"ubuntu": "debian"}.get(distro, v["os-family"])
        if "VERSION_ID" in rel:
            v["os-version"] = rel["VERSION_ID"]
    elif os_name == "macos":
        v["os-distribution"] = "homebrew"
        v["os-family"] = "homebrew"
        ver = platform.mac_ver()[0]
        if ver:
            v["os-version"] = ver
    else:
        v["os-distribution"] = os_name
        v["os-family"] = os_name
    return PlatformVars(v)


def parse_var_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``--var NAME=VALUE`` arguments into a mapping (a usage error names the bad one)."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-:+]*", name.strip()):
            raise UsageError(f"invalid --var {item!r}", hint="write --var NAME=VALUE, e.g. --var os=macos")
        out[name.strip()] = value.strip()
    return out


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
            "name": name,
            "version": version,
            "_:name": name,
            "_:version": version,
            f"{name}:name": name,
            f"{name}:version": version,
        }
    )
    return env


def env_from_os_environ() -> dict[str, str]:
    """``OPAMVAR_name`` overrides from the environment, as opam honours them."""
    out: dict[str, str] = {}
    for k, v in os.environ.items():
        if k.startswith("OPAMVAR_"):
            out[k[len("OPAMVAR_"):].replace("_", "-")] = v
    return out
