"""Lock benchmarks: `opamlock lock` and `lock --check` on the bundled example, and the lock's text form.

Numbers are medians of several runs in one process (the index cache warm after the first load), so
they measure opamlock, not disk or the first parse of a snapshot.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "static-website"


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 5
    sys.path.insert(0, str(ROOT))
    from opamlock.lockfile import dumps, loads
    from opamlock.locking import LockOptions, check_lock, lock_project
    from opamlock.project import load_project

    if not (ROOT.parent / "shared" / "corpus").exists():
        print("  skipped: ../shared/corpus is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        # Same depth below the corpus as the example, so its relative repository paths still work.
        dest = Path(tmp) / "static-website"
        shutil.copytree(EXAMPLE, dest)
        text = (dest / "opamlock.toml").read_text().replace("../../../shared", str(ROOT.parent / "shared"))
        # Absolute paths are refused by the config on purpose; point at the corpus relatively.
        import os

        rel = os.path.relpath(ROOT.parent / "shared", dest)
        text = text.replace(str(ROOT.parent / "shared"), rel)
        (dest / "opamlock.toml").write_text(text)
        (dest / "opamlock.lock").unlink(missing_ok=True)
        project = load_project(dest)
        t0 = time.perf_counter()
        first = lock_project(project)
        print(f"  lock (first in process): {time.perf_counter() - t0:.2f} s, "
              f"{len(first.lock.packages)} packages, {len(first.text):,} bytes")
        relock = _median(lambda: lock_project(load_project(dest), LockOptions(upgrade=True)), runs)
        minimal = _median(lambda: lock_project(load_project(dest)), runs)
        check = _median(lambda: check_lock(load_project(dest)), runs)
        write = _median(lambda: dumps(first.lock), runs)
        read = _median(lambda: loads(first.text), runs)
    print(f"  lock --upgrade (warm):  {relock * 1000:.0f} ms")
    print(f"  lock, minimal (warm):   {minimal * 1000:.0f} ms")
    print(f"  lock --check:           {check * 1000:.0f} ms")
    print(f"  dumps / loads:          {write * 1000:.1f} ms / {read * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
