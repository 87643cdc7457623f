"""What changed between two locks, per platform, in opam's version order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from opamlock.lockfile import Lock, LockedPackage
from opamlock.version import OpamVersion

__all__ = ["PlatformDiff", "diff_locks", "render_diff"]


@dataclass(frozen=True, slots=True)
class PlatformDiff:
    platform: str
    added: tuple[tuple[str, str], ...]
    removed: tuple[tuple[str, str], ...]
    upgraded: tuple[tuple[str, str, str], ...]
    downgraded: tuple[tuple[str, str, str], ...]
    #: Same version, different record (opam file, source, commands or edges changed).
    changed: tuple[tuple[str, str], ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.upgraded or self.downgraded or self.changed)

    def rows(self) -> Iterator[tuple[str, str, str, str]]:
        """``(change, name, old version, new version)`` in display order; "" where there is none.

        The one walk that the plain text and the terminal table both render.
        """
        yield from (("added", n, "", v) for n, v in self.added)
        yield from (("removed", n, v, "") for n, v in self.removed)
        yield from (("upgraded", n, a, b) for n, a, b in self.upgraded)
        yield from (("downgraded", n, a, b) for n, a, b in self.downgraded)
        yield from (("changed", n, v, v) for n, v in self.changed)


def _records(lock: Lock | None, platform: str) -> dict[str, LockedPackage]:
    if lock is None or platform not in lock.platform_names:
        return {}
    return {p.name: p for p in lock.packages_for(platform)}


def _content(p: LockedPackage) -> tuple[object, ...]:
    return (p.opam_hash, p.repository, p.source, p.extra_sources, p.build, p.install, p.depends, p.depexts)


def diff_locks(old: Lock, new: Lock) -> list[PlatformDiff]:
    """One entry per platform in either lock, sorted by platform name."""
    out = []
    for pl in sorted(set(old.platform_names) | set(new.platform_names)):
        a, b = _records(old, pl), _records(new, pl)
        added = tuple((n, b[n].version) for n in sorted(b.keys() - a.keys()))
        removed = tuple((n, a[n].version) for n in sorted(a.keys() - b.keys()))
        up, down, changed = [], [], []
        for n in sorted(a.keys() & b.keys()):
            va, vb = OpamVersion(a[n].version), OpamVersion(b[n].version)
            if vb > va:
                up.append((n, a[n].version, b[n].version))
            elif vb < va:
                down.append((n, a[n].version, b[n].version))
            elif a[n].version != b[n].version or _content(a[n]) != _content(b[n]):
                changed.append((n, b[n].version))
        out.append(PlatformDiff(pl, added, removed, tuple(up), tuple(down), tuple(changed)))
    return out


def render_diff(diffs: list[PlatformDiff]) -> list[str]:
    """Plain text lines: ``+ name version``, ``- name version``, ``↑ name a -> b``, ``↓ …``, ``~ …``."""
    lines: list[str] = []
    for d in diffs:
        lines.append(f"platform {d.platform}:")
        if d.empty:
            lines.append("  (no change)")
            continue
        for change, n, a, b in d.rows():
            mark = _MARKS[change]
            if change == "changed":
                lines.append(f"  {mark} {n} {b} (same version, metadata changed)")
            elif a and b:
                lines.append(f"  {mark} {n} {a} -> {b}")
            else:
                lines.append(f"  {mark} {n} {a or b}")
    return lines


_MARKS = {"added": "+", "removed": "-", "upgraded": "↑", "downgraded": "↓", "changed": "~"}
