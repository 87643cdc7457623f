"""``python -m opamlock.mirage``: the pre-commit entry point of ``opamlock check --mirage``.

It checks a locked project without importing the rest of the command line (every command module
of ``opamlock``), which is most of the start-up time of a hook that runs on each commit. Without a
lock it hands over to ``opamlock check --mirage``, which solves.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from opamlock.errors import OpamlockError


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m opamlock.mirage", description=__doc__)
    ap.add_argument("--target", choices=("hvt", "spt", "virtio", "muen", "genode", "xen"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--lock", type=Path)
    ap.add_argument("--no-source", action="store_true")
    ap.add_argument("--project", type=Path)
    ns = ap.parse_args(args)
    from opamlock.mirage.check import check_locked_project

    try:
        root = ns.project.resolve() if ns.project else _find_root()
        report = check_locked_project(root, target=ns.target, lock_path=ns.lock, source=not ns.no_source)
    except OpamlockError as e:
        print(f"opamlock: error: {e.render()}", file=sys.stderr)
        return 1
    if report is None:
        from opamlock.cli import main as cli

        return int(cli.main(["check", "--mirage", *args], standalone_mode=False) or 0)
    print(json.dumps(report.to_json(), indent=2, ensure_ascii=False) if ns.json else report.render())
    return 0 if report.ok else 1


def _find_root() -> Path | None:
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "opamlock.toml").is_file():
            return d
    return None


if __name__ == "__main__":
    sys.exit(main())
