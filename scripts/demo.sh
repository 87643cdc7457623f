#!/usr/bin/env bash
# Set up opamlock and run its main job on the bundled examples:
#  1. the MirageOS static website (examples/static-website): lock against the opam-repository
#     snapshot with opam-overlays above it, check it for Unix dependencies, audit a few packages;
#  2. the kernel example (fixtures/example-kernel): lock, fetch over local HTTP, sandboxed offline
#     build with opam, GCE image, QEMU boot.
# Part 1 needs ../shared/corpus beside the project; part 2 needs the Debian tools in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

python3 -m pip install -q -e '.[test]'

SITE=$ROOT/examples/static-website
if [ -d "$ROOT/../shared/corpus" ]; then
  cd "$SITE"
  echo "\$ opamlock lock            (examples/static-website)"
  opamlock lock
  echo "\$ opamlock lock --check"
  opamlock lock --check
  echo "\$ opamlock why tcpip"
  opamlock why tcpip
  echo "\$ opamlock check --mirage --target hvt"
  opamlock check --mirage --target hvt
  echo "\$ opamlock audit --target hvt tcpip cohttp-mirage cohttp-lwt-unix"
  opamlock audit --target hvt tcpip cohttp-mirage cohttp-lwt-unix || true   # exit 1: one is incompatible
  cd "$ROOT"
else
  echo "demo: ../shared/corpus is absent; skipping the static-website example"
fi

python3 scripts/demo_kernel.py
