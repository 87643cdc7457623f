"""The lock workflow: project → repositories → one solve per platform → canonical lock → disk.

Three modes, as uv and cargo have them:

* :func:`lock_project` solves and writes ``opamlock.lock`` only when its bytes change. Versions
  already locked are preferred while they still fit (minimal update); ``upgrade`` drops that
  preference, ``upgrade_packages`` drops it for the named packages and everything they need.
* :func:`check_lock` never solves: it recomputes the inputs hash (project opam files, solve
  settings, repository identities, platform variables) and says which input moved. It also
  compares the repositories' commits and the ``source-date-epoch`` they give, which are not
  solver inputs (the identity names the content) but are recorded for builds.

The project's own packages are the roots. They are not in any repository, so they are layered
above the repositories (:class:`ProjectUniverse`) at the version their opam file gives (``dev``
by default) and requested exactly; the solver applies ``with-test``/``with-doc`` to them.
``[pins]`` and ``[solve] constraints`` narrow the versions the solver may see, without forcing
a package into the solution (a constraint on a package nobody needs is simply satisfied).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from opamlock.env import PlatformVars, package_env
from opamlock.errors import OpamlockError
from opamlock.formula import Atom, VConstraint
from opamlock.lockfile import (
    Dependency,
    ExtraSource,
    InvalidLock,
    Lock,
    LockedPackage,
    LockedPlatform,
    LockedRepository,
    LockedRoot,
    LockInputs,
    Source,
    canonical_hash,
    dumps,
    loads,
    write_if_changed,
)
from opamlock.package import Package
from opamlock.project import Project
from opamlock.solver import solve
from opamlock.solver.solution import Solution
from opamlock.version import OpamVersion

__all__ = [
    "AvoidFactory",
    "Freshness",
    "LockOptions",
    "LockResult",
    "ProjectUniverse",
    "build_lock",
    "check_lock",
    "lock_project",
    "mirage_avoid",
    "open_repositories",
    "project_universe",
    "root_request",
]


class UniverseLike(Protocol):
    def names(self) -> Collection[str]: ...
    def __contains__(self, name: object) -> bool: ...
    def versions(self, name: str) -> Sequence[OpamVersion]: ...
    def package(self, name: str, version: OpamVersion) -> Package: ...


#: Given the layered universe and the Mirage targets, a predicate marking candidates the solver
#: should use only when unavoidable (the Mirage check plugs in here; None means nothing avoided).
AvoidFactory = Callable[[Any, tuple[str, ...]], "Callable[[Package], bool] | None"]


@dataclass(frozen=True, kw_only=True)
class LockOptions:
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    #: ``--var NAME=VALUE``: applied to every platform.
    var_overrides: Mapping[str, str] = field(default_factory=dict)
    #: ``--target``: replaces ``[mirage] targets`` for this run.
    targets: tuple[str, ...] | None = None
    #: None: Mirage-aware locking (:func:`mirage_avoid`) whenever Mirage targets are set.
    avoid: AvoidFactory | None = None


@dataclass(frozen=True)
class LockResult:
    lock: Lock
    text: str
    changed: bool
    previous: Lock | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Freshness:
    fresh: bool
    reasons: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Repositories and the layered universe


@dataclass(frozen=True)
class OpenedRepository:
    name: str
    url: str  # as the lock records it: URL or project-relative path
    identity: str
    repository: Any

    @property
    def commit(self) -> str | None:
        """The commit the loader found for this repository (git, ``git archive`` tarball), if any."""
        c = getattr(self.repository, "commit", None)
        return c if isinstance(c, str) else None


def open_repositories(project: Project) -> list[OpenedRepository]:
    """Load each ``[[repository]]``, checking a local one's content against its pinned ``hash``."""
    from opamlock.repository import load_repository

    out = []
    for spec in project.config.repositories:
        repo = load_repository(spec.location(project.root), name=spec.name, commit=spec.commit)
        identity = str(repo.identity)
        if spec.hash is not None and spec.hash != identity:
            raise OpamlockError(
                f"repository {spec.name} ({spec.path}) does not match the hash pinned in opamlock.toml: "
                f"pinned {spec.hash}, found {identity}",
                hint="if the new content is intended, update `hash` in opamlock.toml to the one found",
            )
        out.append(OpenedRepository(spec.name, spec.lock_url, identity, repo))
    return out


def _layer(repos: Sequence[OpenedRepository]) -> Any:
    from opamlock.repository import Universe

    return Universe([r.repository for r in repos])


class ProjectUniverse:
    """The repositories' universe seen through the project: its packages, pins and constraints.

    A project package replaces every repository version of its name (opam's pinning); a pin
    keeps only its version; a constraint keeps only the versions it allows.
    """

    def __init__(self, base: Any, roots: Sequence[Package], narrow: Sequence[Atom] = ()) -> None:
        self.base = base
        self.roots = {p.name: p for p in roots}
        self.narrow: dict[str, list[Atom]] = {}
        for a in narrow:
            self.narrow.setdefault(a.name, []).append(a)

    def names(self) -> list[str]:
        return sorted(set(self.base.names()) | self.roots.keys())

    def __contains__(self, name: object) -> bool:
        return name in self.roots or name in self.base

    def versions(self, name: str) -> Sequence[OpamVersion]:
        if name in self.roots:
            return (self.roots[name].version,)
        if name not in self.base:
            return ()
        vs: Sequence[OpamVersion] = self.base.versions(name)
        atoms = self.narrow.get(name)
        if atoms:
            vs = [v for v in vs if all(a.matches(v) for a in atoms)]
        return vs

    def package(self, name: str, version: OpamVersion) -> Package:
        root = self.roots.get(name)
        if root is not None:
            return root
        return self.base.package(name, version)  # type: ignore[no-any-return]

    def opam_bytes(self, name: str, version: OpamVersion) -> bytes:
        return self.base.opam_bytes(name, version)  # type: ignore[no-any-return]

    def __getattr__(self, attr: str) -> Any:
        # Anything else (progress, collisions…) is the base universe's business.
        return getattr(self.base, attr)


def project_universe(project: Project, repos: Sequence[OpenedRepository]) -> ProjectUniverse:
    """The layered repositories seen through the project's packages, ``[pins]`` and constraints."""
    config = project.config
    return ProjectUniverse(
        _layer(repos),
        [p.package for p in project.packages],
        narrow=(*config.constraints, *(Atom(n, VConstraint("=", OpamVersion(v))) for n, v in config.pins)),
    )


def root_request(project: Project) -> list[Atom]:
    """The solve request: each of the project's packages, exactly at its opam file's version."""
    return [Atom(p.name, VConstraint("=", p.package.version)) for p in project.packages]


def mirage_avoid(mirage_table: Mapping[str, Any]) -> AvoidFactory:
    """Mirage-aware locking: avoid candidates the Mirage audit finds Unix-bound for any target.

    The solver then takes them only when nothing else works, so zarith's ``"gmp" | "conf-gmp"``
    takes the ``gmp`` port. The project's ``[mirage]`` overrides (``allow``…) apply.
    """

    def factory(universe: Any, targets: tuple[str, ...]) -> Callable[[Package], bool]:
        from opamlock.mirage.audit import avoid_predicate
        from opamlock.mirage.rules import default_rules

        rules = default_rules().with_project(mirage_table)
        preds = [avoid_predicate(universe, t, rules) for t in targets]
        return lambda pkg: any(p(pkg) for p in preds)

    return factory


# --------------------------------------------------------------------------------------------
# Inputs


def settings_for(project: Project, options: LockOptions) -> dict[str, Any]:
    settings = project.config.solve_settings()
    if options.targets is not None:
        mirage = dict(settings["mirage"])
        mirage["targets"] = list(options.targets)
        settings["mirage"] = mirage
    return settings


def current_inputs(
    project: Project,
    repos: Sequence[OpenedRepository],
    platforms: Sequence[PlatformVars],
    options: LockOptions,
) -> LockInputs:
    return LockInputs(
        roots=tuple((p.opam_file, p.opam_hash) for p in project.packages),
        config_hash=canonical_hash(settings_for(project, options)),
        repositories=tuple((r.name, r.identity) for r in repos),
        platforms=tuple((p.name, tuple(p.as_dict().items())) for p in platforms),
    )


def _read_previous(project: Project) -> tuple[Lock | None, str | None, tuple[str, ...]]:
    path = project.lock_path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None, ()
    try:
        return loads(text, path.name), text, ()
    except InvalidLock as e:
        return None, text, (f"ignored the previous lock, which cannot be read: {e.message}",)


def check_lock(
    project: Project,
    options: LockOptions = LockOptions(),
    *,
    repositories: Sequence[OpenedRepository] | None = None,
) -> Freshness:
    """Is ``opamlock.lock`` up to date with every input? Never solves, never writes.

    ``repositories`` replaces loading the configured ones (for callers that already have them).
    """
    platforms = project.config.effective_platforms(options.var_overrides)
    previous, text, notes = _read_previous(project)
    if text is None:
        return Freshness(False, ("opamlock.lock is missing",))
    if previous is None:
        return Freshness(False, notes)
    repos = open_repositories(project) if repositories is None else repositories
    now = current_inputs(project, repos, platforms, options)
    reasons: list[str] = []
    if previous.inputs().hash() != previous.inputs_hash:
        reasons.append("opamlock.lock was edited by hand: its inputs-hash does not match its contents")
    if now.hash() != previous.inputs_hash:
        reasons.extend(now.changes_from(previous.inputs()) or ["the lock format's inputs changed"])
    else:
        reasons.extend(_provenance_changes(previous, repos))
    return Freshness(not reasons, tuple(reasons))


def _provenance_changes(previous: Lock, repos: Sequence[OpenedRepository]) -> list[str]:
    """Same content, other commit (a re-archived snapshot): the lock's commits and epoch are stale."""
    out: list[str] = []
    old = {r.name: r.commit for r in previous.repositories}
    for r in repos:
        if r.name in old and old[r.name] != r.commit:
            out.append(f"repository {r.name} changed commit: {old[r.name] or '(unknown)'} -> "
                       f"{r.commit or '(unknown)'}")
    epoch = _source_date_epoch(repos)
    if not out and epoch != previous.source_date_epoch:
        out.append(f"source-date-epoch changed: {previous.source_date_epoch} -> {epoch}")
    return out


# --------------------------------------------------------------------------------------------
# Solving and building the lock


def _locked_versions(
    previous: Lock | None, platform: str, options: LockOptions
) -> dict[str, OpamVersion] | None:
    if previous is None or options.upgrade or platform not in previous.platform_names:
        return None
    versions = previous.versions(platform)
    if options.upgrade_packages:
        for name in _closure(previous, platform, options.upgrade_packages):
            versions.pop(name, None)
    return {n: OpamVersion(v) for n, v in versions.items()}


def _closure(lock: Lock, platform: str, names: Sequence[str]) -> set[str]:
    """``names`` and everything they need in ``lock`` (every edge kind)."""
    seen: set[str] = set()
    stack = list(names)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        rec = lock.get(n, platform)
        if rec is not None:
            stack.extend(d.name for d in rec.depends)
    return seen


class _BuildEnv(Mapping[str, "str | bool"]):
    """What a package's commands see at build time: its own variables plus the installed set.

    ``foo:installed`` is false for any package outside the solution, as opam says for packages
    that are not installed; ``foo:version`` is defined only for installed ones.
    """

    def __init__(self, base: Mapping[str, str | bool], installed: Mapping[str, Package]) -> None:
        self.base = base
        self.installed = installed

    def __getitem__(self, key: str) -> str | bool:
        if key in self.base:
            return self.base[key]
        pkg, sep, var = key.rpartition(":")
        if sep and pkg in self.installed:
            p = self.installed[pkg]
            if var == "installed":
                return True
            if var == "version":
                return str(p.version)
            if var == "name":
                return p.name
        elif sep and var == "installed" and "+" not in pkg and pkg != "_":
            return False
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


def _opam_hash(universe: Any, pkg: Package) -> str:
    if pkg.opam_hash:
        return pkg.opam_hash if ":" in pkg.opam_hash else "sha256:" + pkg.opam_hash
    return "sha256:" + hashlib.sha256(universe.opam_bytes(pkg.name, pkg.version)).hexdigest()


def _package_record(sol: Solution, pkg: Package, universe: Any) -> LockedPackage:
    env = _BuildEnv(package_env(sol.platform, pkg.name, str(pkg.version), flags=sol.flags), sol.packages)
    url = pkg.url
    return LockedPackage(
        name=pkg.name,
        version=str(pkg.version),
        repository=pkg.repository,
        opam_hash=_opam_hash(universe, pkg),
        flags=tuple(pkg.flags),
        depexts=pkg.depexts(env),
        source=None if url is None else Source(url=url.src, checksums=url.checksums, mirrors=url.mirrors),
        extra_sources=tuple(
            ExtraSource(name=e.name, url=e.src, checksums=e.checksums, mirrors=e.mirrors)
            for e in pkg.extra_sources
        ),
        build=tuple(c.args for c in pkg.commands("build", env)),
        install=tuple(c.args for c in pkg.commands("install", env)),
        depends=_edges(sol, pkg.name),
    )


def _edges(sol: Solution, name: str) -> tuple[Dependency, ...]:
    return tuple(
        Dependency(name=a.name, kind=a.kind) for a in sol.edges.get(name, ()) if a.name in sol.packages
    )


def _group(records: Sequence[tuple[str, Any]], all_platforms: Sequence[str]) -> list[Any]:
    """Merge per-platform records that are equal; a record on every platform loses its list."""
    by_value: dict[Any, list[str]] = {}
    for platform, rec in records:
        by_value.setdefault(rec, []).append(platform)
    out = []
    for rec, plats in by_value.items():
        keep = () if sorted(plats) == sorted(all_platforms) else tuple(sorted(plats))
        out.append(_with_platforms(rec, keep))
    return out


def _with_platforms(rec: Any, platforms: tuple[str, ...]) -> Any:
    from dataclasses import replace

    return replace(rec, platforms=platforms)


def build_lock(
    project: Project,
    repos: Sequence[OpenedRepository],
    solutions: Sequence[Solution],
    inputs: LockInputs,
    universe: Any,
    *,
    source_date_epoch: int = 0,
) -> Lock:
    """The canonical lock of per-platform solutions (roots recorded apart from packages)."""
    plat_names = [s.platform.name for s in solutions]
    root_names = {p.name for p in project.packages}
    pkg_records: list[tuple[str, LockedPackage]] = []
    root_records: list[tuple[str, LockedRoot]] = []
    for sol in solutions:
        for name in sorted(sol.packages):
            pkg = sol.packages[name]
            if name in root_names:
                proj = project.package(name)
                assert proj is not None
                root_records.append(
                    (sol.platform.name, LockedRoot(
                        name=name, version=proj.version, opam_file=proj.opam_file,
                        opam_hash=proj.opam_hash, depends=_edges(sol, name),
                    ))
                )
            else:
                pkg_records.append((sol.platform.name, _package_record(sol, pkg, universe)))
    return Lock(
        inputs_hash=inputs.hash(),
        config_hash=inputs.config_hash,
        source_date_epoch=source_date_epoch,
        repositories=tuple(LockedRepository(name=r.name, url=r.url, identity=r.identity, commit=r.commit)
                           for r in repos),
        platforms=tuple(LockedPlatform(name=s.platform.name, vars=tuple(s.platform.as_dict().items()))
                        for s in solutions),
        roots=tuple(_group(root_records, plat_names)),
        packages=tuple(_group(pkg_records, plat_names)),
    )


def _source_date_epoch(repos: Sequence[OpenedRepository]) -> int:
    """The newest repository commit date, when the loader knows it; else 0 (no clock is read)."""
    dates = [getattr(r.repository, "commit_time", None) for r in repos]
    known = [int(d) for d in dates if isinstance(d, int | float)]
    return max(known, default=0)


def lock_project(
    project: Project,
    options: LockOptions = LockOptions(),
    *,
    repositories: Sequence[OpenedRepository] | None = None,
) -> LockResult:
    """Solve the project for every platform and write ``opamlock.lock`` if its text changed.

    ``repositories`` replaces loading the configured ones (for callers that already have them).
    """
    previous, _text, notes = _read_previous(project)
    known = {p.name for p in project.packages}
    if previous is not None:
        known |= {p.name for p in previous.packages}
    for name in options.upgrade_packages:
        if name not in known:
            raise OpamlockError(
                f"--upgrade-package {name}: {name} is not in the lock",
                hint="name a package that `opamlock tree` shows, or use --upgrade to re-solve everything",
            )
    platforms = project.config.effective_platforms(options.var_overrides)
    repos = open_repositories(project) if repositories is None else repositories
    config = project.config
    universe = project_universe(project, repos)
    targets = options.targets if options.targets is not None else config.mirage_targets
    make_avoid = options.avoid if options.avoid is not None else mirage_avoid(config.mirage)
    avoid = make_avoid(universe, targets) if targets else None
    request = root_request(project)
    solutions = []
    for platform in platforms:
        locked = _locked_versions(previous, platform.name, options)
        solutions.append(
            solve(universe, request, platform=platform, flags=config.flags, locked=locked, avoid=avoid)
        )
    inputs = current_inputs(project, repos, platforms, options)
    lock = build_lock(project, repos, solutions, inputs, universe,
                      source_date_epoch=_source_date_epoch(repos))
    text = dumps(lock)
    changed = write_if_changed(project.lock_path, text)
    return LockResult(lock=lock, text=text, changed=changed, previous=previous, notes=notes)
