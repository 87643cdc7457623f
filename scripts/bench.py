#!/usr/bin/env python3
"""Run opamlock's benchmarks: each area lives in scripts/bench_<area>.py with a ``main(argv)``.

Usage: python3 scripts/bench.py [AREA ...] [--runs N]

Areas run in a fixed order; with no AREA, all of them. Each compares against opam's own tools in
the same run where a reference exists, takes several runs and reports the median, because these
machines are noisy. Timed *tests* are deliberately absent from the test suite.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
AREAS = ["parser", "repo", "solve", "lock", "mirage", "fetch", "build"]


def _load(area: str):  # type: ignore[no-untyped-def]
    path = HERE / f"bench_{area}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"bench_{area}", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str]) -> int:
    areas = [a for a in argv if not a.startswith("-") and a in AREAS]
    rest = [a for a in argv if a not in areas]
    status = 0
    for area in areas or AREAS:
        mod = _load(area)
        if mod is None:
            print(f"== {area}: no scripts/bench_{area}.py yet", flush=True)
            continue
        print(f"== {area}", flush=True)
        status |= int(mod.main(rest) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
