#!/usr/bin/env python3
"""Mirage benchmarks: ``audit --all`` on both snapshots (opam-overlays above each), and the warm
``check --mirage`` of a locked project, which must stay under 0.3 s (it is a pre-commit hook).

Usage: python3 scripts/bench_mirage.py [--runs N]   (or: python3 scripts/bench.py mirage)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import conftest  # noqa: E402  (corpus locations and the unpacking cache, shared with the tests)


def _runs(argv: list[str]) -> int:
    if "--runs" in argv:
        return int(argv[argv.index("--runs") + 1])
    return 5


def bench_audit() -> None:
    from opamlock.mirage.audit import Auditor
    from opamlock.repository import load_universe

    overlays = conftest.unpacked(conftest.OVERLAYS)
    total = 0.0
    for snap in (conftest.SNAPSHOT_NEW, conftest.SNAPSHOT_OLD):
        repo = conftest.unpacked(snap)
        load_universe([overlays, repo])  # build the index caches once (not what is measured)
        t0 = time.perf_counter()
        universe = load_universe([overlays, repo])
        t1 = time.perf_counter()
        verdicts = Auditor(universe, target="hvt").audit()
        t2 = time.perf_counter()
        total += t2 - t0
        c = Counter(v.verdict for v in verdicts)
        print(f"audit --all {snap.removesuffix('.tar.gz')} + overlays: {len(verdicts)} packages: "
              f"{c['compatible']} compatible, {c['incompatible']} incompatible, {c['unknown']} unknown; "
              f"load {t1 - t0:.2f} s, audit {t2 - t1:.2f} s", flush=True)
    print(f"audit --all, both snapshots: {total:.2f} s (target < 30 s)", flush=True)


def bench_check(runs: int) -> None:
    snapshot = conftest.unpacked(conftest.SNAPSHOT_NEW)
    overlays = conftest.unpacked(conftest.OVERLAYS)
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp) / "static-website"
        shutil.copytree(ROOT / "fixtures" / "mirage" / "unikernels" / "static-website", proj)
        (proj / "repos").mkdir()
        (proj / "repos" / "opam-repository").symlink_to(snapshot)
        (proj / "repos" / "opam-overlays").symlink_to(overlays)
        exe = shutil.which("opamlock") or sys.executable
        pre = [] if exe.endswith("opamlock") else ["-m", "opamlock"]
        subprocess.run([exe, *pre, "lock", "--project", str(proj)], check=True, capture_output=True)
        cmd = [exe, *pre, "check", "--mirage", "--project", str(proj)]
        subprocess.run(cmd, check=True, capture_output=True)  # warm the OS caches
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env={**os.environ})
            times.append(time.perf_counter() - t)
        print(f"check --mirage (locked static-website, warm, whole process): median "
              f"{statistics.median(times) * 1000:.0f} ms over {runs} runs (target < 300 ms)", flush=True)


def main(argv: list[str]) -> int:
    bench_audit()
    bench_check(_runs(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
