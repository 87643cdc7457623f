"""``opamlock build``: the locked project, built offline from the store, every step sandboxed.

The phases, each timed and logged under ``<build>/logs/``:

1. ``frozen-repository``: the locked opam files, verified against the lock;
2. ``stage-sources``: store entries copied into the build's opam download cache;
3. ``opam-init``: a fresh opam root and an empty switch inside the build directory;
4. ``opam-install``: the host packages at their locked versions, then a check that the switch
   holds exactly those;
5. ``duniverse``: target libraries unpacked from the store (monorepo mode);
6. ``project-build``: the project's own commands in the switch environment;
7. ``collect``: the artifact copied to ``<build>/out/``.

Nothing here touches the network or ``~/.opam``; the sandbox guarantees the first, the private
``OPAMROOT`` and ``HOME`` the second.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from opamlock import sandbox as sb
from opamlock.build import opam
from opamlock.build.config import BuildConfig, load_build_config
from opamlock.build.errors import BuildError
from opamlock.build.frozen import (
    LockPackage,
    LockRepository,
    repository_dirs,
    stage_download_cache,
    write_frozen_repository,
)
from opamlock.build.monorepo import unpack_duniverse
from opamlock.fetch import Store

MARKER = ".opamlock-build"
PROJECT_EXCLUDES = (".git", "_build", "_opam", "_opamlock", "duniverse", "dist", "__pycache__")


class LockPlatform(Protocol):
    @property
    def name(self) -> str: ...


class BuildLock(Protocol):
    @property
    def packages(self) -> Sequence[LockPackage]: ...
    @property
    def repositories(self) -> Sequence[LockRepository]: ...
    @property
    def platforms(self) -> Sequence[LockPlatform]: ...
    @property
    def source_date_epoch(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    seconds: float


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    build_dir: Path
    switch_prefix: Path
    installed: tuple[str, ...]
    duniverse: tuple[str, ...]
    artifact: Path | None
    phases: tuple[Phase, ...]
    logs: Path

    @property
    def total_seconds(self) -> float:
        return sum(p.seconds for p in self.phases)


@dataclass
class _Timer:
    on_phase: Callable[[str], None] | None
    phases: list[Phase] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self.on_phase is not None:
            self.on_phase(name)
        start = time.monotonic()
        try:
            yield
        finally:
            self.phases.append(Phase(name, time.monotonic() - start))


def select_packages(lock: BuildLock, platform: str | None) -> tuple[str, list[LockPackage]]:
    """The lock's records for one platform (the only one, unless ``platform`` says which)."""
    names = [p.name for p in lock.platforms]
    if platform is None:
        if len(names) != 1:
            raise BuildError(
                f"the lock has platforms {', '.join(names)}; say which to build",
                hint="opamlock build --platform NAME",
            )
        platform = names[0]
    elif platform not in names:
        raise BuildError(f"platform {platform!r} is not in the lock (it has {', '.join(names)})")
    return platform, [p for p in lock.packages if not p.platforms or platform in p.platforms]


def prepare_build_dir(build_dir: Path) -> Path:
    """A fresh build directory; an old one is removed only if opamlock made it."""
    build_dir = build_dir.resolve()
    if build_dir.exists() and any(build_dir.iterdir()):
        if not (build_dir / MARKER).exists():
            raise BuildError(
                f"{build_dir} exists and was not made by opamlock build; refusing to empty it",
                hint="choose another --build-dir or remove it yourself",
            )
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / MARKER).write_text("made by opamlock build; emptied by the next build\n")
    return build_dir


def build(
    lock: BuildLock,
    *,
    project: Path,
    store: Store,
    build_dir: Path,
    config: BuildConfig | None = None,
    repo_dirs: Mapping[str, Path] | None = None,
    platform: str | None = None,
    jobs: int = 2,
    step_timeout: float | None = 3600,
    on_phase: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build the locked project hermetically; see the module docstring for the phases."""
    project = project.resolve()
    config = config or load_build_config(project)
    sb.check_available()
    opam.require_opam()
    _, packages = select_packages(lock, platform)
    by_name = {p.name: p for p in packages}
    unknown = [n for n in config.monorepo if n not in by_name]
    if unknown:
        raise BuildError(f"build.monorepo names packages that are not locked: {', '.join(unknown)}")
    vendored = [by_name[n] for n in config.monorepo]
    host = [p for p in packages if p.name not in set(config.monorepo)]

    build_dir = prepare_build_dir(build_dir)
    logs = build_dir / "logs"
    root = build_dir / "opam-root"
    src = build_dir / "src"
    box = sb.Sandbox(
        build_dir=build_dir, source_date_epoch=lock.source_date_epoch, env=opam.opam_env(root, jobs)
    )
    timer = _Timer(on_phase)

    with timer.phase("frozen-repository"):
        dirs = repository_dirs(lock.repositories, project, repo_dirs)
        frozen = write_frozen_repository(host, dirs, build_dir / "frozen-repository")
    with timer.phase("stage-sources"):
        stage_download_cache(host, store, root / "download-cache")
        _copy_project(project, src, exclude_dir=build_dir)
    with timer.phase("opam-init"):
        opam.init(box, frozen.path, logs / "1-opam-init.log")
    with timer.phase("opam-install"):
        log = logs / "2-opam-install.log"
        opam.install(box, frozen.packages, log)
        got = opam.installed(box, log)
        if got != frozen.packages:
            raise BuildError(
                f"the switch does not hold exactly the locked packages: locked {', '.join(frozen.packages)}; "
                f"installed {', '.join(got)}",
                hint=f"see {log}",
            )
    with timer.phase("duniverse"):
        vendored_names = unpack_duniverse(vendored, store, src / "duniverse") if vendored else ()
    with timer.phase("project-build"):
        for i, cmd in enumerate(config.project_commands()):
            box.run(
                opam.exec_argv(cmd),
                cwd=src,
                log=logs / f"3-project-{i}.log",
                step="project build",
                package="(project)",
                timeout=step_timeout,
            )
    with timer.phase("collect"):
        artifact = None
        rel = config.artifact_path()
        if rel is not None:
            built = src / rel
            if not built.is_file():
                raise BuildError(
                    f"the project build did not produce {rel}",
                    hint=f"check build.artifact in opamlock.toml and the logs in {logs}",
                )
            artifact = build_dir / "out" / built.name
            artifact.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(built, artifact)
    return BuildResult(
        build_dir=build_dir,
        switch_prefix=root / opam.SWITCH,
        installed=got,
        duniverse=vendored_names,
        artifact=artifact,
        phases=tuple(timer.phases),
        logs=logs,
    )


def _copy_project(project: Path, dest: Path, *, exclude_dir: Path) -> None:
    """The project's files as the build sees them: a copy, so the build cannot change the original."""

    def ignore(directory: str, names: list[str]) -> list[str]:
        here = Path(directory)
        return [n for n in names if n in PROJECT_EXCLUDES or (here / n).resolve() == exclude_dir]

    shutil.copytree(project, dest, ignore=ignore, symlinks=True)
