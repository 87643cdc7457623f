"""The Mirage rules: which names are Unix-bound, which edges do not link, what to use instead.

The shipped rules live in ``opamlock/data/mirage-rules.toml``, where each exception carries its
reason; a project adds its own deliberate exceptions in ``opamlock.toml`` (``[mirage.allow]`` and
``[[mirage.allow-edge]]``). Both end up in one immutable :class:`Rules` value, so every analysis
(audit, check, Mirage-aware locking) answers the same questions the same way.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from opamlock.env import PlatformVars
from opamlock.errors import OpamlockError

__all__ = ["MIRAGE_TARGETS", "EdgeRule", "InvalidRules", "Rules", "default_rules", "load_rules"]

#: Every Mirage 4 backend opamlock knows; all are cross-compiled without unix/threads.
MIRAGE_TARGETS = ("hvt", "spt", "virtio", "muen", "genode", "xen")


class InvalidRules(OpamlockError):
    """A rules file or an ``opamlock.toml`` ``[mirage]`` table with the wrong shape."""


@dataclass(frozen=True, slots=True)
class EdgeRule:
    """``src`` depends on ``dst`` in metadata, but what a unikernel links from ``src`` does not."""

    src: str
    dst: str
    reason: str
    origin: str = "opamlock rules"


@dataclass(frozen=True)
class Rules:
    platform: Mapping[str, str]
    unix_markers: frozenset[str]
    unix_suffixes: tuple[str, ...]
    unix_names: Mapping[str, str]
    portable_names: Mapping[str, str]
    host_tools: frozenset[str]
    host_prefixes: tuple[str, ...]
    host_suffixes: tuple[str, ...]
    toolchain: frozenset[str]
    toolchain_prefixes: tuple[str, ...]
    conf_tools: frozenset[str]
    conf_tool_prefixes: tuple[str, ...]
    edges: Mapping[tuple[str, str], EdgeRule]
    siblings: Mapping[str, str]
    dune_libraries: frozenset[str]
    dune_suffixes: tuple[str, ...]
    #: Project-level ``[mirage.allow]``: package name → reason.
    allowed: Mapping[str, str] = field(default_factory=dict)

    # -- the questions every analysis asks ---------------------------------------------------

    def target_platform(self, target: str) -> PlatformVars:
        """Filter variables for a Mirage target (see the ``[platform]`` table for why these)."""
        if target not in MIRAGE_TARGETS:
            raise InvalidRules(
                f"unknown Mirage target {target!r}", hint="choose one of " + ", ".join(MIRAGE_TARGETS)
            )
        return PlatformVars(dict(self.platform), name=f"mirage-{target}")

    def is_host_tool(self, name: str) -> bool:
        return (
            name in self.host_tools
            or name.startswith(self.host_prefixes)
            or name.endswith(self.host_suffixes)
        )

    def is_toolchain(self, name: str) -> bool:
        return name in self.toolchain or name.startswith(self.toolchain_prefixes)

    def is_conf_tool(self, name: str) -> bool:
        return name in self.conf_tools or name.startswith(self.conf_tool_prefixes)

    def is_conf_library(self, name: str) -> bool:
        """Deliberate default: a ``conf-*`` package not known as a tool is a system library."""
        return name.startswith("conf-") and not self.is_conf_tool(name)

    def ignores_target(self, name: str) -> bool:
        """Edges *to* this package link nothing into the unikernel."""
        return self.is_host_tool(name) or self.is_toolchain(name) or self.is_conf_tool(name)

    def unix_name_reason(self, name: str) -> str | None:
        """Why ``name`` is a Unix package by name or role, or ``None``."""
        if name in self.portable_names:
            return None
        if name in self.unix_names:
            return self.unix_names[name]
        if name.endswith(self.unix_suffixes):
            return "a Unix package by name"
        return None

    def edge_rule(self, src: str, dst: str) -> EdgeRule | None:
        return self.edges.get((src, dst))

    def sibling(self, name: str) -> str | None:
        return self.siblings.get(name)

    # -- project overrides -------------------------------------------------------------------

    def with_project(self, table: Mapping[str, Any] | None, *, origin: str = "opamlock.toml") -> Rules:
        """Add a project's ``[mirage]`` overrides (``allow`` and ``allow-edge``)."""
        if not table:
            return self
        allow = table.get("allow", {})
        if not isinstance(allow, Mapping) or not all(isinstance(v, str) for v in allow.values()):
            raise InvalidRules(
                f"{origin}: [mirage.allow] must map package names to reasons",
                hint='write e.g. [mirage.allow]\n"cstruct-lwt" = "only used by our unix test driver"',
            )
        edges = dict(self.edges)
        for i, e in enumerate(table.get("allow-edge", [])):
            key = _edge_key(e, f"{origin}: mirage.allow-edge[{i}]")
            edges[key] = _edge(e, origin)
        return replace(self, allowed={**self.allowed, **allow}, edges=edges)


def _edge_key(e: Any, where: str) -> tuple[str, str]:
    if not isinstance(e, Mapping) or not all(isinstance(e.get(k), str) for k in ("from", "to", "reason")):
        raise InvalidRules(f"{where}: an edge exception needs string fields from, to and reason")
    return (e["from"], e["to"])


def _edge(e: Mapping[str, str], origin: str) -> EdgeRule:
    return EdgeRule(e["from"], e["to"], e["reason"], origin=origin)


def _strs(d: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    v = d.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise InvalidRules(f"{where}: {key} must be a list of strings")
    return tuple(v)


def _table(d: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    v = d.get(key, {})
    if not isinstance(v, Mapping):
        raise InvalidRules(f"{where}: [{key}] must be a table")
    return v


def rules_from_dict(data: Mapping[str, Any], where: str = "<rules>") -> Rules:
    unix = _table(data, "unix", where)
    host = _table(data, "host-tools", where)
    tool = _table(data, "toolchain", where)
    conf = _table(data, "conf", where)
    dune = _table(data, "dune", where)
    edges: dict[tuple[str, str], EdgeRule] = {}
    for i, e in enumerate(data.get("edge", [])):
        key = _edge_key(e, f"{where}: edge[{i}]")
        edges[key] = _edge(e, "opamlock rules")
    return Rules(
        platform={str(k): str(v) for k, v in _table(data, "platform", where).items()},
        unix_markers=frozenset(_strs(unix, "markers", where)),
        unix_suffixes=_strs(unix, "name-suffixes", where),
        unix_names=dict(_table(unix, "names", where)),
        portable_names=dict(_table(unix, "portable-names", where)),
        host_tools=frozenset(_strs(host, "names", where)),
        host_prefixes=_strs(host, "prefixes", where),
        host_suffixes=_strs(host, "suffixes", where),
        toolchain=frozenset(_strs(tool, "names", where)),
        toolchain_prefixes=_strs(tool, "prefixes", where),
        conf_tools=frozenset(_strs(conf, "tools", where)),
        conf_tool_prefixes=_strs(conf, "tool-prefixes", where),
        edges=edges,
        siblings={str(k): str(v) for k, v in _table(data, "siblings", where).items()},
        dune_libraries=frozenset(_strs(dune, "libraries", where)),
        dune_suffixes=_strs(dune, "suffixes", where),
    )


def load_rules(path: Path) -> Rules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidRules(f"cannot read Mirage rules {path}: {e}") from e
    return rules_from_dict(data, str(path))


_DEFAULT: Rules | None = None


def default_rules() -> Rules:
    """The rules shipped in ``opamlock/data/mirage-rules.toml`` (read once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("opamlock").joinpath("data/mirage-rules.toml").read_text(encoding="utf-8")
        _DEFAULT = rules_from_dict(tomllib.loads(text), "opamlock/data/mirage-rules.toml")
    return _DEFAULT
