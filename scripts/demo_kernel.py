#!/usr/bin/env python3
"""The whole product on the bundled kernel example: lock → fetch → sandboxed build → GCE image → boot.

Everything runs offline on this machine: the example's source tarballs are generated
deterministically and served from 127.0.0.1, the build runs opam inside bubblewrap with no
network, and QEMU boots the image and shows what the kernel printed on its serial console.

Usage: python3 scripts/demo_kernel.py [WORKDIR]
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {
    "bwrap": "bubblewrap", "opam": "opam", "gcc": "gcc", "make": "make", "sfdisk": "fdisk",
    "mkdosfs": "dosfstools", "syslinux": "syslinux", "mcopy": "mtools",
    "qemu-system-x86_64": "qemu-system-x86",
}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def run(*args: str, cwd: Path) -> None:
    print(f"\n$ opamlock {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "opamlock", *args], cwd=cwd, check=True)


def main() -> int:
    missing = [f"{t} (apt-get install {p})" for t, p in TOOLS.items()
               if shutil.which(t) is None and shutil.which(t, path="/usr/sbin:/sbin") is None]
    if missing:
        print("demo_kernel: skipped, missing tools: " + ", ".join(missing))
        return 0
    spec = importlib.util.spec_from_file_location("example", ROOT / "fixtures/example-kernel/example.py")
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    sys.modules["example"] = example  # dataclasses look their module up while the class is made
    spec.loader.exec_module(example)

    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="opamlock-demo-"))
    archives = work / "archives"
    archives.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Quiet, directory=str(archives))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        ex = example.materialise(work, f"http://127.0.0.1:{srv.server_address[1]}/")
        store = work / "store"
        run("lock", cwd=ex.project)
        run("tree", cwd=ex.project)
        run("fetch", "--store", str(store), cwd=ex.project)
        run("build", "--store", str(store), "--build-dir", str(work / "build"), cwd=ex.project)
        kernel = work / "build" / "out" / "unikernel.bin"
        image = work / "image" / "disk.tar.gz"
        run("image", "--gce", "-o", str(image), "--source-date-epoch", "0", str(kernel), cwd=ex.project)
        print(f"\nGCE image: {image}  sha256={hashlib.sha256(image.read_bytes()).hexdigest()}")
        raw = work / "boot" / "disk.raw"
        run("image", "--gce", "--format", "raw", "-o", str(raw), "--source-date-epoch", "0",
            "--boot-test", "--expect", example.HELLO_LINE, str(kernel), cwd=ex.project)
    finally:
        srv.shutdown()
        srv.server_close()
    print(f"\ndemo_kernel: done; everything is under {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
