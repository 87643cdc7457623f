"""Mirage compatibility: will this be linkable into a MirageOS unikernel (Solo5, Xen)?

* :mod:`rules` — the shipped rules file and project overrides;
* :mod:`classify` — one package's Unix markers and runtime dependency formula;
* :mod:`audit` — static verdicts for package versions, and the avoid predicate for locking;
* :mod:`graph` and :mod:`check` — the runtime graph of a lock or solution and its findings;
* :mod:`dune_scan` — the project's own dune files;
* :mod:`report` — text, JSON, Markdown and HTML audit reports.
"""

from __future__ import annotations

from opamlock.mirage.audit import Auditor, Verdict, avoid_predicate
from opamlock.mirage.check import CheckReport, Finding, MonorepoWarning
from opamlock.mirage.rules import MIRAGE_TARGETS, Rules, default_rules

__all__ = [
    "MIRAGE_TARGETS",
    "Auditor",
    "CheckReport",
    "Finding",
    "MonorepoWarning",
    "Rules",
    "Verdict",
    "avoid_predicate",
    "default_rules",
]
