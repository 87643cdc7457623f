#!/usr/bin/env python3
"""Fetch throughput against the number of parallel jobs.

A local HTTP server on 127.0.0.1 serves N files of a few MB, each response delayed by an
artificial latency (standing in for a distant mirror). Every run fetches the whole plan into a
fresh store, so the time covers download, hashing (md5+sha256+sha512, twice: streamed and
re-read from disk), fsync and the atomic renames. Reports the median of several runs.

Usage: python3 scripts/bench_fetch.py [--files N] [--size-mb M] [--latency S] [--runs R] [--jobs 1,2,4,8]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fixtures" / "fetch"))

from fetch_server import FetchServer, Serve  # noqa: E402

from opamlock.fetch import FetchPlan, FetchSettings, Store, fetch, make_item  # noqa: E402


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench_fetch", description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--size-mb", type=float, default=4.0)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every response")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", default="1,2,4,8")
    args, _ = ap.parse_known_args(argv)

    size = int(args.size_mb * 1024 * 1024)
    blobs = [os.urandom(size) for _ in range(args.files)]
    total_mb = size * args.files / 1e6
    settings = FetchSettings(backoff_factor=0.01)
    print(
        f"fetch: {args.files} files x {args.size_mb:g} MB ({total_mb:.0f} MB), "
        f"latency {args.latency * 1000:.0f} ms/request, median of {args.runs} runs"
    )
    print(f"{'jobs':>5} {'seconds':>9} {'MB/s':>8} {'speed-up':>9}")
    base: float | None = None
    with FetchServer(latency=args.latency) as srv, tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
        items = tuple(
            make_item(
                f"p{i}.1", srv.route(f"/f{i}.tar.gz", Serve(b)), ["sha256=" + hashlib.sha256(b).hexdigest()]
            )
            for i, b in enumerate(blobs)
        )
        plan = FetchPlan(items)
        for jobs in (int(j) for j in args.jobs.split(",")):
            times = []
            for run in range(args.runs):
                store = Store(Path(tmp) / f"j{jobs}-r{run}")
                t0 = time.perf_counter()
                report = fetch(plan, store, jobs=jobs, settings=settings)
                times.append(time.perf_counter() - t0)
                assert len(report.downloaded) == args.files
            med = statistics.median(times)
            base = base or med
            print(f"{jobs:>5} {med:>9.3f} {total_mb / med:>8.1f} {base / med:>8.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
