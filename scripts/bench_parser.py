#!/usr/bin/env python3
"""Parser benchmark: every opam file of the 2026-08-22 snapshot, opamlock vs opam-file-format.

Usage: python3 scripts/bench_parser.py [--runs N]   (or: python3 scripts/bench.py parser)

Timed, each as the median of N runs (wall clock, since the reference is another process):

* reference: opam-file-format (../shared/oracles/opam_parse_json.ml) reading and parsing every file;
* opamlock read+parse: one process reading the bytes and calling ``opamlock.opamfile.parse``;
* opamlock parse only: the same with the bytes already in memory;
* opamlock 2 processes: read+parse split over a pool of two workers, as a repository loader may.

In-process variants also report their CPU time. Both are disturbed by other load on the machine
(on a 2-vCPU host a busy neighbour can inflate even CPU time by half), so compare runs made
together and repeat when numbers disagree.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SNAPSHOT = "opam-repository-2026-08-22-97014be6"
CACHE = Path(os.environ.get("OPAMLOCK_TEST_CACHE", Path.home() / ".cache" / "opamlock-tests"))

sys.path.insert(0, str(ROOT))
from opamlock.opamfile import OpamSyntaxError, parse  # noqa: E402


def snapshot_repo(tmp: Path) -> Path | None:
    """The unpacked snapshot: the test suite's cached copy, else unpacked into ``tmp``."""
    cached = CACHE / "unpacked" / SNAPSHOT / "opam-repository"
    if cached.is_dir():
        return cached
    archive = SHARED / "corpus" / f"{SNAPSHOT}.tar.gz"
    if not archive.exists():
        return None
    with tarfile.open(archive) as tf:
        tf.extractall(tmp, filter="data")
    return tmp / "opam-repository"


def reference_binary(tmp: Path) -> Path | None:
    src = SHARED / "oracles" / "opam_parse_json.ml"
    if not src.exists() or shutil.which("ocamlfind") is None:
        return None
    shutil.copy(src, tmp / "opam_parse_json.ml")
    r = subprocess.run(
        ["ocamlfind", "ocamlopt", "-package", "opam-file-format", "-linkpkg", "opam_parse_json.ml",
         "-o", "opam_parse_json"],
        cwd=tmp, capture_output=True,
    )
    return tmp / "opam_parse_json" if r.returncode == 0 else None


def parse_paths(paths: list[str]) -> int:
    """Read and parse ``paths``; the number that failed (a worker entry point, so module-level)."""
    failed = 0
    for p in paths:
        with open(p, "rb") as fh:
            data = fh.read()
        try:
            parse(data, p)
        except OpamSyntaxError:
            failed += 1
    return failed


def parse_datas(items: list[tuple[bytes, str]]) -> int:
    failed = 0
    for data, name in items:
        try:
            parse(data, name)
        except OpamSyntaxError:
            failed += 1
    return failed


def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median wall-clock and median CPU time (of this process) over ``runs`` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def _register_self() -> None:
    """Make worker functions picklable when scripts/bench.py loaded this file by path."""
    if __name__ not in sys.modules:
        mod = types.ModuleType(__name__)
        mod.__dict__.update(globals())
        sys.modules[__name__] = mod


def main(argv: list[str]) -> int:
    _register_self()
    runs = 5
    if "--runs" in argv:
        runs = int(argv[argv.index("--runs") + 1])
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        repo = snapshot_repo(tmp)
        if repo is None:
            print("parser: skipped, the snapshot archive is absent from ../shared/corpus")
            return 0
        names = sorted(str(p.relative_to(repo)) for p in (repo / "packages").rglob("opam"))
        paths = [str(repo / n) for n in names]
        size = sum(os.path.getsize(p) for p in paths)
        print(f"parser: {len(paths)} opam files, {size / 1e6:.1f} MB, median of {runs} runs")

        results: dict[str, float] = {}
        cpu: dict[str, float] = {}
        refbin = reference_binary(tmp)
        if refbin is not None:
            listing = "".join(p + "\n" for p in paths).encode()

            def run_reference() -> None:
                subprocess.run([str(refbin)], input=listing, stdout=subprocess.DEVNULL, check=True)

            results["reference (opam-file-format)"], _ = timed(run_reference, runs)
        else:
            print("parser: reference binary unavailable (needs ocamlfind + opam-file-format)")

        failed = parse_paths(paths)
        label = "opamlock read+parse, 1 process"
        results[label], cpu[label] = timed(lambda: parse_paths(paths), runs)
        datas = [(Path(p).read_bytes(), p) for p in paths]
        label = "opamlock parse only, 1 process"
        results[label], cpu[label] = timed(lambda: parse_datas(datas), runs)
        chunks = [paths[i : i + 500] for i in range(0, len(paths), 500)]
        with ProcessPoolExecutor(max_workers=2) as pool:
            list(pool.map(parse_paths, chunks[:2]))  # start the workers outside the timing

            def run_pool() -> None:
                sum(pool.map(parse_paths, chunks))

            results["opamlock read+parse, 2 processes"], _ = timed(run_pool, runs)

        ref = results.get("reference (opam-file-format)")
        for label, secs in results.items():
            ratio = f"  {secs / ref:4.1f}x reference" if ref and not label.startswith("reference") else ""
            cpu_note = f"  (CPU {cpu[label]:.2f} s)" if label in cpu else ""
            print(f"  {label:36} {secs:6.2f} s  {size / secs / 1e6:6.1f} MB/s{ratio}{cpu_note}")
        print(f"  files rejected by opamlock: {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
