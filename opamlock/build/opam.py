"""opam itself, driven inside the sandbox with a root that belongs to the build.

The user's ``~/.opam`` is never read or written: ``OPAMROOT`` points into the build directory
and ``HOME`` too. opam's own sandbox is disabled because the whole step already runs in
bubblewrap (nesting would need privileges the outer sandbox removed).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from opamlock.build.errors import BuildError
from opamlock.sandbox import Sandbox, SandboxError, log_tail

SWITCH = "build"
REPO_NAME = "frozen"
_FAILED = re.compile(r"The (?:compilation|installation|removal) of (\S+?) failed")


def require_opam() -> str:
    found = shutil.which("opam")
    if found is None:
        raise BuildError(
            "opam is not installed; opamlock builds the host toolchain with it",
            hint="install it: apt-get install opam",
        )
    return found


def opam_env(root: Path, jobs: int) -> dict[str, str]:
    return {
        "OPAMROOT": str(root),
        "OPAMYES": "1",
        "OPAMCOLOR": "never",
        "OPAMUTF8": "never",
        "OPAMNODEPEXTS": "1",
        "OPAMNOENVNOTICE": "1",
        "OPAMJOBS": str(jobs),
        "OPAMDOWNLOADJOBS": "1",
        "OPAMERRLOGLEN": "0",
        "OPAMROOTISOK": "1",
    }


def init(box: Sandbox, repo: Path, log: Path) -> None:
    box.run(
        ["opam", "init", "--bare", "-n", "--disable-sandboxing", REPO_NAME, str(repo)],
        log=log,
        step="opam init",
    )
    box.run(["opam", "switch", "create", SWITCH, "--empty"], log=log, step="opam switch create")


def install(box: Sandbox, packages: Sequence[str], log: Path) -> None:
    """``opam install`` of exact ``name.version`` atoms; a failure names the package opam blamed."""
    if not packages:
        return
    try:
        box.run(["opam", "install", "--switch", SWITCH, *packages], log=log, step="opam install")
    except SandboxError as e:
        blamed = _FAILED.findall(log.read_text(errors="replace"))
        if blamed:
            e.package = ", ".join(dict.fromkeys(blamed))
            e.message = f"opam install failed for {e.package}"
            e.log_tail = _package_log_tail(log) or e.log_tail
        raise


def installed(box: Sandbox, log: Path) -> tuple[str, ...]:
    """``name.version`` of every package installed in the build switch, sorted."""
    out = log.with_suffix(".list")
    box.run(
        ["sh", "-c", f'opam list --switch {SWITCH} -i --short --columns=name,version > "$0"', str(out)],
        log=log,
        step="opam list",
    )
    pkgs = []
    for line in out.read_text().splitlines():
        fields = line.split()
        if len(fields) == 2:
            pkgs.append(f"{fields[0]}.{fields[1]}")
    return tuple(sorted(pkgs))


def exec_argv(command: Sequence[str]) -> list[str]:
    """Run ``command`` in the build switch's environment (PATH, OPAM_SWITCH_PREFIX, …)."""
    return ["opam", "exec", "--switch", SWITCH, "--", *command]


def _package_log_tail(log: Path) -> str:
    # opam prints the failing command's output between "#=== ERROR" and the error report.
    text = log.read_text(errors="replace")
    start = text.rfind("#=== ERROR")
    if start < 0:
        return log_tail(log)
    end = text.find("<><> Error report", start)
    block = text[start : end if end > 0 else None].strip().splitlines()
    return "\n".join(block[-40:])
