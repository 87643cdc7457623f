#!/usr/bin/env python3
"""Benchmark of repository loading on the full 2026-08-22 snapshot (18,793 opam files).

Measured, each as the median of ``--runs`` runs in fresh processes:

* cold load of the ``.tar.gz`` (empty cache: read, parse with the worker pool, write the index);
* cold load of the unpacked folder, against the reference parser (opam-file-format, built from
  ../shared/oracles/opam_parse_json.ml) parsing the very same files;
* warm load of the ``.tar.gz`` and of the folder (cache filled), in-process time;
* ``opamlock list --all-versions`` end to end (interpreter start-up included), warm;
* peak memory (max RSS) of the cold-load process, and of its parser workers.

Usage: python3 scripts/bench_repo.py [--runs N]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SNAPSHOT = SHARED / "corpus" / "opam-repository-2026-08-22-97014be6.tar.gz"
REF_SOURCE = SHARED / "oracles" / "opam_parse_json.ml"
TEST_CACHE = Path(os.environ.get("OPAMLOCK_TEST_CACHE", Path.home() / ".cache" / "opamlock-tests"))

# Peak RSS is read from /proc (VmHWM) where it exists: Linux carries ru_maxrss across execve, so
# getrusage in the child would report this (large) benchmark process's peak instead of its own.
_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t = time.perf_counter()
from opamlock.repository import load_repository
repo = load_repository(sys.argv[1], cache_dir=Path(sys.argv[2]), progress=False)
n = len(repo)
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
except (OSError, StopIteration, ValueError):
    pass
print(json.dumps({"seconds": dt, "packages": n, "problems": len(repo.problems), "rss_kb": rss,
                  "workers_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _child(spec: Path, cache: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(spec), str(cache)], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _unpacked(tmp: Path) -> Path:
    cached = TEST_CACHE / "unpacked" / SNAPSHOT.name.removesuffix(".tar.gz") / "opam-repository"
    if cached.is_dir():
        return cached
    with tarfile.open(SNAPSHOT) as tf:
        tf.extractall(tmp / "unpacked", filter="data")
    return tmp / "unpacked" / "opam-repository"


def _reference(tmp: Path) -> Path | None:
    for p in sorted(TEST_CACHE.glob("refparser-*/opam_parse_json")):
        return p
    if shutil.which("ocamlfind") is None or not REF_SOURCE.exists():
        return None
    shutil.copy(REF_SOURCE, tmp / "opam_parse_json.ml")
    r = subprocess.run(["ocamlfind", "ocamlopt", "-package", "opam-file-format", "-linkpkg",
                        "opam_parse_json.ml", "-o", "opam_parse_json"], cwd=tmp, capture_output=True)
    return tmp / "opam_parse_json" if r.returncode == 0 else None


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def main(argv: list[str]) -> int:
    runs = 3
    if "--runs" in argv:
        runs = int(argv[argv.index("--runs") + 1])
    if not SNAPSHOT.exists():
        print(f"repo: {SNAPSHOT} is absent; nothing to measure")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-repo-") as t:
        tmp = Path(t)
        folder = _unpacked(tmp)
        files = sorted(str(p.relative_to(folder)) for p in (folder / "packages").rglob("opam"))
        ref = _reference(tmp)
        ref_times: list[float] = []
        if ref is not None:
            listing = "\n".join(files) + "\n"
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run([str(ref)], input=listing, cwd=folder, capture_output=True, text=True,
                               check=True)
                ref_times.append(time.perf_counter() - start)

        cold_tar: list[dict[str, Any]] = []
        cold_dir: list[dict[str, Any]] = []
        for i in range(runs):
            cold_tar.append(_child(SNAPSHOT, tmp / f"cache-tar-{i}"))
            cold_dir.append(_child(folder, tmp / f"cache-dir-{i}"))
        warm_tar = [_child(SNAPSHOT, tmp / "cache-tar-0") for _ in range(runs)]
        warm_dir = [_child(folder, tmp / "cache-dir-0") for _ in range(runs)]
        env = {**os.environ, "OPAMLOCK_CACHE": str(tmp / "cli-cache")}
        cmd = [sys.executable, "-m", "opamlock", "list", "--all-versions", "--repo", str(SNAPSHOT)]
        subprocess.run(cmd, env=env, capture_output=True, check=True, cwd=ROOT)
        cli: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, check=True, cwd=ROOT)
            cli.append(time.perf_counter() - start)
        cache_bytes = sum(p.stat().st_size for p in (tmp / "cache-tar-0").iterdir())

    def secs(rows: list[dict[str, Any]]) -> float:
        return _median([r["seconds"] for r in rows])

    print(f"files: {len(files)} opam files; loaded {cold_tar[0]['packages']} packages, "
          f"{cold_tar[0]['problems']} problems; median of {runs} runs")
    ref_s = _median(ref_times) if ref_times else None
    if ref_s is not None:
        print(f"reference parser (opam-file-format) on the folder: {ref_s:.2f} s")
    else:
        print("reference parser: unavailable (needs ocamlfind + opam-file-format)")
    for label, rows in (("cold load, .tar.gz", cold_tar), ("cold load, folder", cold_dir)):
        ratio = f"  ({secs(rows) / ref_s:.2f}x reference; target <= 3x)" if ref_s else ""
        print(f"{label}: {secs(rows):.2f} s{ratio}")
    print(f"warm load, .tar.gz: {secs(warm_tar) * 1000:.0f} ms  (target < 300 ms)")
    print(f"warm load, folder: {secs(warm_dir) * 1000:.0f} ms  (target < 300 ms)")
    print(f"`opamlock list --all-versions`, warm, whole process: {_median(cli) * 1000:.0f} ms")
    print(f"peak RSS, cold load: {max(r['rss_kb'] for r in cold_tar) / 1024:.0f} MiB main, "
          f"{max(r['workers_rss_kb'] for r in cold_tar) / 1024:.0f} MiB largest worker; "
          f"warm load: {max(r['rss_kb'] for r in warm_tar) / 1024:.0f} MiB")
    print(f"index cache on disk: {cache_bytes / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
