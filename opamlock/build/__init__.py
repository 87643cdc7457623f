"""Hermetic builds of a locked project: opam for the host toolchain, duniverse for target libraries.

:func:`build` takes a lock (``opamlock.lockfile.Lock`` or anything with the same attributes) and
a store filled by ``opamlock fetch``, and returns a :class:`BuildResult` with the artifact and the
time of each phase. Every step runs in :mod:`opamlock.sandbox`.
"""

from __future__ import annotations

from opamlock.build.builder import BuildResult, Phase, build, prepare_build_dir, select_packages
from opamlock.build.config import BuildConfig, load_build_config, parse_build_table
from opamlock.build.errors import BuildError, OpamHashMismatch
from opamlock.build.frozen import FrozenRepository, stage_download_cache, write_frozen_repository
from opamlock.build.monorepo import unpack_duniverse

__all__ = [
    "BuildConfig",
    "BuildError",
    "BuildResult",
    "FrozenRepository",
    "OpamHashMismatch",
    "Phase",
    "build",
    "load_build_config",
    "parse_build_table",
    "prepare_build_dir",
    "select_packages",
    "stage_download_cache",
    "unpack_duniverse",
    "write_frozen_repository",
]
