#!/usr/bin/env python3
"""Benchmark of ``opamlock build`` and ``opamlock image`` on the bundled example.

Each run builds the example from scratch in a new directory (fresh opam root, sandboxed, offline
from a store filled once over a local HTTP server), then makes the disk, packs the GCE tarball and
boots it in QEMU. Reported: the median time of each phase over ``--runs`` runs, and whether every
run produced the same image bytes.

Usage: python3 scripts/bench_build.py [--runs N] [--no-boot]
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _example() -> ModuleType:
    name = "opamlock_example_fixture"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "fixtures" / "example-kernel" / "example.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main(argv: list[str]) -> int:
    from opamlock.build import build
    from opamlock.fetch import Store, fetch, plan_from_lock
    from opamlock.image import boot_test, make_disk, pack_gce
    from opamlock.locking import lock_project
    from opamlock.project import load_project

    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
    boot = "--no-boot" not in argv
    ex_mod = _example()
    timings: dict[str, list[float]] = {}
    sums: set[str] = set()
    boot_lines: list[str] = []

    with tempfile.TemporaryDirectory(prefix="opamlock-bench-build-") as tmp_s:
        tmp = Path(tmp_s)
        archives = tmp / "example" / "archives"
        archives.mkdir(parents=True)
        srv = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(archives))
        )
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            ex = ex_mod.materialise(tmp / "example", f"http://127.0.0.1:{srv.server_address[1]}/")
            # The real lock, as a user gets it from `opamlock lock` (not the tests' hand-written one).
            lock = lock_project(load_project(ex.project)).lock
            store = Store(tmp / "store")
            t = time.monotonic()
            fetch(plan_from_lock(lock), store, jobs=2)
            timings["fetch (once, local HTTP)"] = [time.monotonic() - t]
        finally:
            srv.shutdown()
            srv.server_close()

        for i in range(runs):
            result = build(lock, project=ex.project, store=store, build_dir=tmp / f"build-{i}")
            for p in result.phases:
                timings.setdefault(f"build: {p.name}", []).append(p.seconds)
            timings.setdefault("build: total", []).append(result.total_seconds)
            assert result.artifact is not None
            t = time.monotonic()
            disk = make_disk(
                result.artifact, tmp / f"image-{i}" / "disk.raw", source_date_epoch=lock.source_date_epoch
            )
            timings.setdefault("image: disk.raw (1 GiB sparse)", []).append(time.monotonic() - t)
            t = time.monotonic()
            tar = pack_gce(disk, tmp / f"image-{i}" / "disk.tar.gz")
            timings.setdefault("image: GCE tar.gz", []).append(time.monotonic() - t)
            sums.add(_sha256(tar))
            if boot:
                res = boot_test(disk, expect=ex_mod.HELLO_LINE, timeout=120)
                timings.setdefault("boot test (QEMU TCG)", []).append(res.seconds)
                boot_lines.append(res.matched)

    width = max(len(k) for k in timings)
    print(f"build + image of the example, {runs} run(s), median seconds (min-max):")
    for k, v in timings.items():
        print(f"  {k:<{width}}  {statistics.median(v):7.3f}  ({min(v):.3f}-{max(v):.3f})")
    print(f"  image tar.gz sha256 identical across runs: {len(sums) == 1} ({', '.join(sorted(sums))})")
    if boot_lines:
        print(f"  serial console: {boot_lines[0]!r}")
    return 0 if len(sums) == 1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
