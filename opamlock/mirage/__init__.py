"""Mirage compatibility: will this be linkable into a MirageOS unikernel (Solo5, Xen)?

* :mod:`rules` — the shipped rules file and project overrides;
* :mod:`markers` — Unix markers and how one dependency edge counts (no parser needed);
* :mod:`classify` — one package's runtime dependency formula for a target;
* :mod:`audit` — static verdicts for package versions, and the avoid predicate for locking;
* :mod:`graph` and :mod:`check` — the runtime graph of a lock or solution and its findings;
* :mod:`dune_scan` — the project's own dune files;
* :mod:`report` — text, JSON, Markdown and HTML audit reports.

Names are imported lazily: ``check --mirage`` runs as a pre-commit hook and must not pay for the
parser and the package model when it only reads a lock.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MIRAGE_TARGETS", "Auditor", "CheckReport", "Rules", "Verdict", "avoid_predicate", "default_rules"]

_WHERE = {
    "MIRAGE_TARGETS": "rules", "Rules": "rules", "default_rules": "rules",
    "Auditor": "audit", "Verdict": "audit", "avoid_predicate": "audit",
    "CheckReport": "check",
}


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'opamlock.mirage' has no attribute {name!r}")
    return getattr(importlib.import_module(f"opamlock.mirage.{mod}"), name)
