#!/usr/bin/env python3
"""Mirage benchmarks: ``audit --all`` on both snapshots (opam-overlays above each), and the warm
``check --mirage`` of a locked project, which must stay under 0.3 s (it is a pre-commit hook).

Usage: python3 scripts/bench_mirage.py [--runs N]   (or: python3 scripts/bench.py mirage)
"""

from __future__ import annotations

import os
import resource
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
    total = cpu = 0.0
    for snap in (conftest.SNAPSHOT_NEW, conftest.SNAPSHOT_OLD):
        repo = conftest.unpacked(snap)
        load_universe([overlays, repo])  # build the index caches once (not what is measured)
        c0, t0 = time.process_time(), time.perf_counter()
        universe = load_universe([overlays, repo])
        t1 = time.perf_counter()
        verdicts = Auditor(universe, target="hvt").audit()
        c2, t2 = time.process_time(), time.perf_counter()
        total += t2 - t0
        cpu += c2 - c0
        c = Counter(v.verdict for v in verdicts)
        print(f"audit --all {snap.removesuffix('.tar.gz')} + overlays: {len(verdicts)} packages: "
              f"{c['compatible']} compatible, {c['incompatible']} incompatible, {c['unknown']} unknown; "
              f"load {t1 - t0:.2f} s, audit {t2 - t1:.2f} s wall, {c2 - c0:.2f} s CPU", flush=True)
    print(f"audit --all, both snapshots: {total:.2f} s wall, {cpu:.2f} s CPU (target < 30 s; "
          f"load average {os.getloadavg()[0]:.1f})", flush=True)


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
        hook = [sys.executable, "-m", "opamlock.mirage", "--project", str(proj)]
        variants = (("opamlock check --mirage", cmd), ("python -m opamlock.mirage (pre-commit)", hook))
        for label, argv in variants:
            walls, cpus = [], []
            for _ in range(runs):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                subprocess.run(argv, check=True, capture_output=True, env={**os.environ})
                walls.append(time.perf_counter() - t)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            print(f"{label} (locked static-website, warm, whole process): median wall "
                  f"{statistics.median(walls) * 1000:.0f} ms, CPU {statistics.median(cpus) * 1000:.0f} ms "
                  f"over {runs} runs (target < 300 ms; load average {os.getloadavg()[0]:.1f})", flush=True)


def main(argv: list[str]) -> int:
    bench_audit()
    bench_check(_runs(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
