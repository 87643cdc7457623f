"""What a lock was solved from: the parts of its inputs, their hash, and how to name a change.

Kept as parts, not only a hash, so that ``opamlock lock --check`` can say *which* input moved, as
poetry's ``content-hash`` cannot. The hash is over a canonical JSON rendering (sorted keys), so it is
the same on every machine, under every hash seed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["LOCK_VERSION", "LockInputs", "canonical_hash"]

LOCK_VERSION = 1


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def canonical_hash(obj: Any) -> str:
    """``sha256:`` of a JSON rendering with sorted keys: stable across runs, machines and hash seeds."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class LockInputs:
    """Everything a solve depends on; its hash is the lock's ``inputs-hash``.

    Kept as parts (not only the hash) so that ``lock --check`` can say *which* input changed.
    """

    roots: tuple[tuple[str, str], ...]  # (opam file, sha256) of each project opam file
    config_hash: str
    repositories: tuple[tuple[str, str], ...]  # (name, identity), priority order
    platforms: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (name, sorted vars)

    def __post_init__(self) -> None:
        _set(self, "roots", tuple(sorted(self.roots)))
        _set(
            self,
            "platforms",
            tuple(sorted((n, tuple(sorted(dict(v).items()))) for n, v in self.platforms)),
        )

    def hash(self) -> str:
        return canonical_hash(
            {
                "lock-version": LOCK_VERSION,
                "roots": [list(r) for r in self.roots],
                "config": self.config_hash,
                "repositories": [list(r) for r in self.repositories],
                "platforms": [[n, [list(kv) for kv in v]] for n, v in self.platforms],
            }
        )

    def changes_from(self, old: LockInputs) -> list[str]:
        """Human lines naming each input that differs between ``old`` (the lock's) and ``self``."""
        out: list[str] = []
        mine, theirs = dict(self.roots), dict(old.roots)
        for f, change in _changes(mine, theirs, sorted(mine.keys() | theirs.keys())):
            out.append(f"project opam file {f} {'changed' if change == 'changed' else 'was ' + change}")
        if self.config_hash != old.config_hash:
            out.append("opamlock.toml changed (repositories, platforms, constraints, pins or solve flags)")
        if self.repositories != old.repositories:
            new_r, old_r = dict(self.repositories), dict(old.repositories)
            names = [n for n, _ in self.repositories] + [n for n, _ in old.repositories if n not in new_r]
            for n, change in _changes(new_r, old_r, names):
                if change == "changed":
                    out.append(f"repository {n} changed identity: {old_r[n]} -> {new_r[n]}")
                else:
                    out.append(f"repository {n} was {change}")
            # Only when nothing above explains it (a reordered opamlock.toml already says so).
            if [n for n, _ in self.repositories] != [n for n, _ in old.repositories] and not out:
                out.append("repository priority order changed")
        if self.platforms != old.platforms:
            new_p, old_p = dict(self.platforms), dict(old.platforms)
            for n in sorted(new_p.keys() | old_p.keys()):
                if new_p.get(n) != old_p.get(n):
                    out.append(f"platform {n} variables changed")
        return out


def _changes(new: dict[str, Any], old: dict[str, Any], names: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(name, "added" | "removed" | "changed")`` for each of ``names`` that differs, in that order."""
    for n in names:
        if n not in old:
            yield n, "added"
        elif n not in new:
            yield n, "removed"
        elif new[n] != old[n]:
            yield n, "changed"
