#!/usr/bin/env python3
"""Benchmark: ``opamlock`` solve (warm index) against ``opam install --dry-run``, same requests, one run.

Usage: python3 scripts/bench_solve.py [--runs N] [--repo PATH] [--opamroot PATH] [--no-opam]

The repository defaults to the unpacked 2026-08-22 snapshot in the test cache (the tests unpack it),
and opam's root to the test cache's root for that snapshot (``tests/conftest.py`` makes both). Each
of our solves runs ``--runs`` times (median kept) after one warm-up load of the index; opam runs once
per request (it takes seconds). Prints per-request times and ratios, the median ratio, the slowest
solve, and peak memory (max RSS of this process, which holds the whole universe).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("OPAMLOCK_TEST_CACHE", Path.home() / ".cache" / "opamlock-tests"))
SNAPSHOT = "opam-repository-2026-08-22-97014be6"

REQUESTS = [
    "mirage", "tcpip", "dns-server", "paf", "tls-mirage", "irmin-git", "dream", "core_unix", "async",
    "ocaml-base-compiler.4.14.2 core", "ocaml-base-compiler.5.1.1 dream", "ocaml.4.14.2 mirage",
    "lwt", "cohttp-lwt-unix", "cmdliner", "yojson", "ppx_deriving", "alcotest", "ocamlformat",
    "cohttp-eio", "mirage ocaml<4.08", "dream ocaml<4.08",
    # Avoided versions the request makes unavoidable: these exercise the whole-solution
    # avoided-version pass (re-solves), the slow path of preference (1).
    "ocaml.5.5.1 irmin-git", "ocaml-variants.5.5.1+trunk dream",
]


def _opam_seconds(atoms: list[str], opamroot: Path) -> tuple[float, int]:
    env = {**os.environ, "OPAMROOT": str(opamroot), "OPAMYES": "1", "OPAMSWITCH": "empty",
           "OPAMCOLOR": "never", "OPAMNODEPEXTS": "1"}
    t0 = time.perf_counter()
    p = subprocess.run(["opam", "install", "--dry-run", "--show-actions", *atoms],
                       capture_output=True, text=True, env=env)
    return time.perf_counter() - t0, p.returncode


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench_solve")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repo", type=Path, default=CACHE / "unpacked" / SNAPSHOT / "opam-repository")
    ap.add_argument("--opamroot", type=Path, default=CACHE / f"opamroot-{SNAPSHOT}" / "root")
    ap.add_argument("--no-opam", action="store_true", help="time opamlock only")
    args, _ = ap.parse_known_args(argv)
    if not args.repo.exists():
        print(f"solve: {args.repo} is absent (run the corpus tests once to unpack it)")
        return 0
    sys.path.insert(0, str(ROOT))
    from opamlock.env import host_platform
    from opamlock.formula import parse_atom
    from opamlock.repository import load_universe
    from opamlock.solver import SolveError, solve

    t0 = time.perf_counter()
    universe = load_universe([args.repo], progress=False)
    load_s = time.perf_counter() - t0
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    platform = host_platform(opam_version="2.1.2")
    use_opam = not args.no_opam and args.opamroot.exists()
    print(f"index load {load_s:.2f} s, max RSS after load {rss_loaded:.0f} MiB; "
          f"opam: {'yes' if use_opam else 'skipped'}")
    print(f"{'request':45s} {'ours':>8s} {'opam':>8s} {'ratio':>7s}  result")
    ours_all: list[float] = []
    ratios: list[float] = []
    for req in REQUESTS:
        atoms = [parse_atom(a) for a in req.split()]
        times = []
        result = ""
        for _ in range(max(1, args.runs)):
            t = time.perf_counter()
            try:
                sol = solve(universe, atoms, platform=platform)
                avoided = sum(1 for p in sol.packages.values() if p.avoid)
                result = f"{len(sol.packages)} packages, {avoided} avoided"
            except SolveError:
                result = "impossible (explained)"
            times.append(time.perf_counter() - t)
        ours = statistics.median(times)
        ours_all.append(ours)
        if use_opam:
            theirs, code = _opam_seconds(req.split(), args.opamroot)
            ratios.append(theirs / ours)
            print(f"{req:45s} {ours:8.3f} {theirs:8.2f} {theirs / ours:6.0f}x  {result} (opam exit {code})",
                  flush=True)
        else:
            print(f"{req:45s} {ours:8.3f} {'-':>8s} {'-':>7s}  {result}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"median solve {statistics.median(ours_all):.3f} s, slowest {max(ours_all):.3f} s "
          f"({REQUESTS[ours_all.index(max(ours_all))]}), over 2 s: {sum(t > 2 for t in ours_all)}")
    if ratios:
        print(f"median speed-up over opam: {statistics.median(ratios):.0f}x (min {min(ratios):.0f}x)")
    print(f"peak memory (max RSS): {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
