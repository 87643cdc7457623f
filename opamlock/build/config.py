"""The ``[build]`` table of ``opamlock.toml``: what the project's own build step is.

The rest of ``opamlock.toml`` (repositories, targets) belongs to locking; the builder reads only
this table, leniently, so the two can evolve apart::

    [build]
    kind = "commands"                 # or "mirage"
    commands = [["make"]]             # kind = "commands": run in the switch environment
    target = "virtio"                 # kind = "mirage": mirage configure -t <target>
    artifact = "dist/unikernel.bin"   # the kernel handed to `opamlock image`
    boot-args = []
    monorepo = ["cstruct", "lwt"]     # locked packages unpacked into duniverse/ instead of installed
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opamlock.build.errors import BuildError

CONFIG_FILENAME = "opamlock.toml"
KINDS = ("commands", "mirage")


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildConfig:
    kind: str = "commands"
    commands: tuple[tuple[str, ...], ...] = ()
    target: str = "virtio"
    artifact: str | None = None
    boot_args: tuple[str, ...] = ()
    monorepo: tuple[str, ...] = ()

    def project_commands(self) -> tuple[tuple[str, ...], ...]:
        """The project's own build, as argv lists run inside the opam switch environment."""
        if self.kind == "mirage":
            # `make depends` would call opam monorepo (network); duniverse/ is already unpacked.
            return (("mirage", "configure", "-t", self.target), ("dune", "build"))
        return self.commands

    def artifact_path(self) -> str | None:
        if self.artifact is not None:
            return self.artifact
        if self.kind == "mirage":
            return f"dist/{self.target}.kernel"  # overridden by `artifact` when the name is known
        return None


def load_build_config(project: Path) -> BuildConfig:
    """``[build]`` from ``project/opamlock.toml``; a missing file or table means defaults."""
    path = project / CONFIG_FILENAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return BuildConfig()
    except tomllib.TOMLDecodeError as e:
        raise BuildError(f"{path}: not valid TOML: {e}",
                         hint="see https://toml.io for the syntax") from e
    except (OSError, UnicodeDecodeError) as e:
        raise BuildError(f"{path}: cannot read it: {e}",
                         hint=f"{CONFIG_FILENAME} must be a readable UTF-8 file") from e
    return parse_build_table(data.get("build", {}), str(path))


def parse_build_table(table: Any, where: str) -> BuildConfig:
    if not isinstance(table, Mapping):
        raise BuildError(f"{where}: [build] must be a table")
    kind = _str(table, "kind", where, "commands")
    if kind not in KINDS:
        raise BuildError(f"{where}: build.kind must be one of {', '.join(KINDS)}, not {kind!r}")
    raw_cmds = table.get("commands", [])
    if not (
        isinstance(raw_cmds, list)
        and all(isinstance(c, list) and c and all(isinstance(a, str) for a in c) for c in raw_cmds)
    ):
        raise BuildError(
            f"{where}: build.commands must be an array of non-empty string arrays",
            hint='e.g. commands = [["make"], ["make", "install"]]',
        )
    artifact = table.get("artifact")
    if artifact is not None and not isinstance(artifact, str):
        raise BuildError(f"{where}: build.artifact must be a string")
    if isinstance(artifact, str) and (artifact.startswith("/") or ".." in Path(artifact).parts):
        raise BuildError(f"{where}: build.artifact must be a path inside the project: {artifact!r}")
    return BuildConfig(
        kind=kind,
        commands=tuple(tuple(c) for c in raw_cmds),
        target=_str(table, "target", where, "virtio"),
        artifact=artifact,
        boot_args=_strs(table, "boot-args", where),
        monorepo=_strs(table, "monorepo", where),
    )


def _str(t: Mapping[str, Any], key: str, where: str, default: str) -> str:
    v = t.get(key, default)
    if not isinstance(v, str):
        raise BuildError(f"{where}: build.{key} must be a string")
    return v


def _strs(t: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    v = t.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise BuildError(f"{where}: build.{key} must be an array of strings")
    return tuple(v)
