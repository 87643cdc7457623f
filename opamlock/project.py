"""An OCaml project as opamlock sees it: ``opamlock.toml`` plus the project's own ``*.opam`` files.

``opamlock.toml`` pins everything a solve reads that is not in the project's opam files: the
repositories (a git URL and commit, or a project-relative path and content hash), the platforms
to solve for, the solve flags, extra constraints and pins. The Mirage section belongs to the Mirage
checks; this module only checks that it is a table and hands it over.

Every mistake in the file is reported with its place: ``file:line:col`` for TOML syntax, or the
dotted key path (``solve.platforms[1].os``) for a well-formed file with a wrong value.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import tomlkit
import tomlkit.exceptions

from opamlock.atomicfile import atomic_write
from opamlock.env import DEFAULT_OPAM_VERSION, PlatformVars, SolveFlags, host_platform
from opamlock.errors import LocatedError, OpamlockError
from opamlock.formula import Atom, InvalidAtom, parse_atom
from opamlock.opamfile import ast
from opamlock.package import Package
from opamlock.version import InvalidVersion, OpamVersion

__all__ = [
    "CONFIG_FILENAME",
    "Config",
    "InvalidConfig",
    "Project",
    "ProjectPackage",
    "RepositorySpec",
    "find_project",
    "init_project",
    "load_config",
    "load_project",
    "parse_config",
    "render_config",
]

CONFIG_FILENAME = "opamlock.toml"
#: The version opam gives a pinned package whose opam file has no ``version:`` (opam >= 2.2).
DEV_VERSION = "dev"

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+\-]*\Z")
_COMMIT = re.compile(r"[0-9a-f]{40}\Z|[0-9a-f]{64}\Z")
_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_TOP_KEYS = ("repository", "solve", "pins", "mirage", "fetch", "build")
_SOLVE_KEYS = ("platforms", "with-test", "with-doc", "constraints")


_DOC_HINT = "docs/project.md describes every key of opamlock.toml"


class InvalidConfig(OpamlockError):
    """``opamlock.toml`` is well-formed TOML but says something opamlock cannot use."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RepositorySpec:
    """One ``[[repository]]``: pinned by ``url`` + ``commit`` (git) or ``path`` + ``hash`` (local)."""

    name: str
    url: str | None = None
    commit: str | None = None
    path: str | None = None
    hash: str | None = None

    def location(self, project_dir: Path) -> str:
        """What to hand the repository loader: the URL, or the path made absolute."""
        if self.path is not None:
            return str((project_dir / self.path).resolve())
        assert self.url is not None
        return self.url

    @property
    def lock_url(self) -> str:
        """How the lock names it: the URL, or the project-relative path (never absolute)."""
        return self.url if self.url is not None else str(self.path)

    def normalised(self) -> dict[str, str]:
        out = {"name": self.name}
        for k in ("url", "commit", "path", "hash"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        return out


@dataclass(frozen=True, kw_only=True)
class Config:
    """A validated ``opamlock.toml``."""

    repositories: tuple[RepositorySpec, ...]
    #: None: solve for the machine running opamlock (``env.host_platform()``).
    platforms: tuple[PlatformVars, ...] | None = None
    with_test: bool = False
    with_doc: bool = False
    constraints: tuple[Atom, ...] = ()
    constraint_texts: tuple[str, ...] = ()
    pins: tuple[tuple[str, str], ...] = ()
    mirage: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    mirrors: tuple[str, ...] = ()
    #: ``[build]``, owned by the build step; kept as given.
    build: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def flags(self) -> SolveFlags:
        return SolveFlags(with_test=self.with_test, with_doc=self.with_doc)

    @property
    def mirage_targets(self) -> tuple[str, ...]:
        t = self.mirage.get("targets", ())
        return tuple(t)

    def effective_platforms(self, overrides: Mapping[str, str] | None = None) -> tuple[PlatformVars, ...]:
        """The platforms to solve for, with ``--var`` overrides applied to each."""
        plats = self.platforms if self.platforms is not None else (host_platform(),)
        if overrides:
            plats = tuple(p.with_overrides(overrides) for p in plats)
        return plats

    def solve_settings(self) -> dict[str, Any]:
        """The part of the config that can change a solve, normalised (its hash is ``config-hash``).

        Platforms are left out: they are an input of their own, so ``lock --check`` can say
        which one changed. Fetch mirrors are left out: they change where bytes come from, not
        which bytes.
        """
        return {
            "repositories": [r.normalised() for r in self.repositories],
            "with-test": self.with_test,
            "with-doc": self.with_doc,
            "constraints": list(self.constraint_texts),
            "pins": [list(p) for p in self.pins],
            "mirage": _plain(self.mirage),
        }


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in sorted(v.items())}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


# --------------------------------------------------------------------------------------------
# Parsing and validation


class _Check:
    """Validation helpers that name the key path in every error."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, path: str, msg: str, hint: str | None = None) -> InvalidConfig:
        return InvalidConfig(f"{self.filename}: {path}: {msg}", hint=hint or _DOC_HINT)

    def table(self, v: Any, path: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(path, f"expected a table, found {_tname(v)}")
        return v

    def known(self, d: Mapping[str, Any], keys: Sequence[str], path: str) -> None:
        for k in d:
            if k not in keys:
                where = f"{path}.{k}" if path else k
                hint = f"known keys here: {', '.join(keys)}"
                if k in ("target", "platform", "platforms"):
                    hint = 'platforms go under [solve]: platforms = [{ os = "linux", arch = "x86_64" }]'
                raise self.fail(where, "unknown key", hint=hint)

    def string(self, d: Mapping[str, Any], key: str, path: str) -> str | None:
        v = d.get(key)
        if v is not None and not isinstance(v, str):
            raise self.fail(f"{path}.{key}", f"expected a string, found {_tname(v)}")
        return v

    def boolean(self, d: Mapping[str, Any], key: str, path: str) -> bool:
        v = d.get(key, False)
        if not isinstance(v, bool):
            raise self.fail(f"{path}.{key}", f"expected true or false, found {_tname(v)}")
        return v

    def strings(self, d: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        v = d.get(key, [])
        if not isinstance(v, list):
            raise self.fail(f"{path}.{key}", f"expected an array of strings, found {_tname(v)}")
        for i, x in enumerate(v):
            if not isinstance(x, str):
                raise self.fail(f"{path}.{key}[{i}]", f"expected a string, found {_tname(x)}")
        return tuple(v)


def _tname(v: Any) -> str:
    return {
        bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
        dict: "a table",
    }.get(type(v), type(v).__name__)


def _repository(c: _Check, t: dict[str, Any], path: str) -> RepositorySpec:
    c.known(t, ("name", "url", "commit", "path", "hash"), path)
    name = c.string(t, "name", path)
    if not name:
        raise c.fail(f"{path}.name", "missing", hint='name each repository, e.g. name = "opam-repository"')
    url, commit = c.string(t, "url", path), c.string(t, "commit", path)
    local, digest = c.string(t, "path", path), c.string(t, "hash", path)
    hint = 'pin it: url = "git+https://…" with commit = "<40 hex>", or path = "…" with hash = "sha256:…"'
    if (url is None) == (local is None):
        raise c.fail(path, "needs exactly one of `url` or `path`", hint=hint)
    if url is not None:
        if local is not None or digest is not None:
            raise c.fail(f"{path}.hash", "a git repository is pinned by `commit`, not `hash`", hint=hint)
        if commit is None:
            raise c.fail(f"{path}.commit", "missing: a URL repository must be pinned to a commit", hint=hint)
        if not _COMMIT.match(commit):
            raise c.fail(f"{path}.commit", f"{commit!r} is not a full commit hash", hint=hint)
    else:
        assert local is not None
        if commit is not None:
            raise c.fail(f"{path}.commit", "a local repository is pinned by `hash`, not `commit`", hint=hint)
        if os.path.isabs(local) or local.startswith("~"):
            raise c.fail(
                f"{path}.path", "must be relative to the project",
                hint="absolute paths would make the lock depend on this machine",
            )
        local = str(PurePosixPath(local.replace(os.sep, "/")))
    return RepositorySpec(name=name, url=url, commit=commit, path=local, hash=digest)


def _platform(c: _Check, v: Any, path: str) -> PlatformVars:
    t = c.table(v, path)
    name = t.get("name")
    variables: dict[str, str] = {}
    for k, x in t.items():
        if k == "name":
            if not isinstance(x, str) or not x:
                raise c.fail(f"{path}.name", "expected a non-empty string")
            continue
        if not _VAR.match(k):
            raise c.fail(f"{path}.{k}", "not a valid variable name")
        if not isinstance(x, str):
            raise c.fail(
                f"{path}.{k}", f"expected a string, found {_tname(x)}",
                hint='platform variables are strings, e.g. { os = "linux", arch = "x86_64" }',
            )
        variables[k] = x
    for required in ("os", "arch"):
        if required not in variables:
            raise c.fail(
                f"{path}.{required}", "missing",
                hint='each platform needs at least os and arch, e.g. { os = "macos", arch = "arm64" }',
            )
    variables.setdefault("opam-version", DEFAULT_OPAM_VERSION)
    if variables["os"] == "macos":
        variables.setdefault("os-distribution", "homebrew")
        variables.setdefault("os-family", "homebrew")
    elif variables["os"] != "linux":
        variables.setdefault("os-distribution", variables["os"])
        variables.setdefault("os-family", variables["os"])
    return PlatformVars(dict(sorted(variables.items())), name=name or "")


def parse_config(text: str, filename: str = CONFIG_FILENAME) -> Config:
    """Read and validate ``opamlock.toml`` text."""
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as e:
        lines = text.splitlines()
        src = lines[e.line - 1] if 0 < e.line <= len(lines) else None
        msg = str(e).split(" at line ")[0]
        raise LocatedError(
            f"invalid TOML: {msg}", filename=filename, line=e.line, col=e.col, source_line=src,
            hint="see https://toml.io for the syntax; `opamlock init --force` writes a fresh file",
        ) from e
    data = doc.unwrap()
    c = _Check(filename)
    c.known(data, _TOP_KEYS, "")

    repos_raw = data.get("repository", [])
    if not isinstance(repos_raw, list) or not repos_raw:
        raise c.fail(
            "repository", "expected at least one [[repository]] table",
            hint="add e.g. [[repository]] with name, url and commit",
        )
    repos = tuple(
        _repository(c, c.table(r, f"repository[{i}]"), f"repository[{i}]") for i, r in enumerate(repos_raw)
    )
    seen: set[str] = set()
    for i, r in enumerate(repos):
        if r.name in seen:
            raise c.fail(f"repository[{i}].name", f"repository name {r.name!r} is used twice")
        seen.add(r.name)

    solve = c.table(data.get("solve", {}), "solve")
    c.known(solve, _SOLVE_KEYS, "solve")
    platforms: tuple[PlatformVars, ...] | None = None
    if "platforms" in solve:
        raw = solve["platforms"]
        if not isinstance(raw, list) or not raw:
            raise c.fail("solve.platforms", "expected a non-empty array of tables",
                         hint='e.g. platforms = [{ os = "linux", arch = "x86_64" }]')
        platforms = tuple(_platform(c, p, f"solve.platforms[{i}]") for i, p in enumerate(raw))
        names = [p.name for p in platforms]
        for i, n in enumerate(names):
            if n in names[:i]:
                raise c.fail(f"solve.platforms[{i}]", f"platform name {n!r} is used twice",
                             hint='give platforms that share os and arch distinct names: name = "…"')
    texts = c.strings(solve, "constraints", "solve")
    atoms = []
    for i, s in enumerate(texts):
        try:
            atoms.append(parse_atom(s))
        except InvalidAtom as e:
            raise c.fail(f"solve.constraints[{i}]", e.message, hint=e.hint) from e

    pins_t = c.table(data.get("pins", {}), "pins")
    pins = []
    for k, v in sorted(pins_t.items()):
        if not _NAME.match(k):
            raise c.fail(f"pins.{k}", "not a valid package name")
        if not isinstance(v, str):
            raise c.fail(f"pins.{k}", f"expected a version, found {_tname(v)}", hint='e.g. lwt = "5.7.0"')
        try:
            OpamVersion.parse(v)
        except InvalidVersion as e:
            raise c.fail(f"pins.{k}", e.message, hint=e.hint) from e
        pins.append((k, v))

    mirage = c.table(data.get("mirage", {}), "mirage")
    if "targets" in mirage:
        c.strings(mirage, "targets", "mirage")
    fetch = c.table(data.get("fetch", {}), "fetch")
    c.known(fetch, ("mirrors",), "fetch")
    mirrors = c.strings(fetch, "mirrors", "fetch")
    build = c.table(data.get("build", {}), "build")

    return Config(
        repositories=repos,
        platforms=platforms,
        with_test=c.boolean(solve, "with-test", "solve"),
        with_doc=c.boolean(solve, "with-doc", "solve"),
        constraints=tuple(atoms),
        constraint_texts=texts,
        pins=tuple(pins),
        mirage=MappingProxyType(mirage),
        mirrors=mirrors,
        build=MappingProxyType(build),
    )


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidConfig(f"{path}: not found", hint="create it with `opamlock init`") from None
    except OSError as e:
        raise InvalidConfig(f"{path}: cannot read it: {e.strerror or e}",
                            hint=f"{CONFIG_FILENAME} must be a readable file") from e
    except UnicodeDecodeError as e:
        raise InvalidConfig(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})",
                            hint="TOML files are UTF-8; `opamlock init --force` writes a fresh file") from e
    return parse_config(text, str(path))


# --------------------------------------------------------------------------------------------
# Writing (init)


def render_config(config: Config, *, comment: bool = True) -> str:
    """TOML text for ``config``; platforms are written in full so the lock never reads the host."""
    doc = tomlkit.document()
    if comment:
        doc.add(tomlkit.comment("opamlock project configuration: what `opamlock lock` solves against."))
        doc.add(tomlkit.comment("Repositories are in priority order, highest first."))
        doc.add(tomlkit.nl())
    aot = tomlkit.aot()
    for r in config.repositories:
        t = tomlkit.table()
        for k, v in r.normalised().items():
            t[k] = v
        aot.append(t)
    doc["repository"] = aot
    solve = tomlkit.table()
    plats = tomlkit.array()
    for p in config.effective_platforms():
        it = tomlkit.inline_table()
        for k, v in p.as_dict().items():
            it[k] = v
        plats.append(it)
    plats.multiline(True)
    solve["platforms"] = plats
    solve["with-test"] = config.with_test
    solve["with-doc"] = config.with_doc
    cons = tomlkit.array()
    cons.extend(config.constraint_texts)
    solve["constraints"] = cons
    doc["solve"] = solve
    pins = tomlkit.table()
    for k, v in config.pins:
        pins[k] = v
    doc["pins"] = pins
    mirage = tomlkit.table()
    for k, v in _plain(config.mirage).items():
        mirage[k] = v
    if "targets" not in mirage:
        mirage["targets"] = tomlkit.array()
    doc["mirage"] = mirage
    fetch = tomlkit.table()
    mirrors = tomlkit.array()
    mirrors.extend(config.mirrors)
    fetch["mirrors"] = mirrors
    doc["fetch"] = fetch
    if config.build:
        build = tomlkit.table()
        for k, v in _plain(config.build).items():
            build[k] = v
        doc["build"] = build
    return tomlkit.dumps(doc)


# --------------------------------------------------------------------------------------------
# The project


@dataclass(frozen=True, kw_only=True)
class ProjectPackage:
    """One of the project's ``*.opam`` files, read as a root package (``dev`` unless it says)."""

    name: str
    version: str
    opam_file: str  # relative to the project, POSIX separators
    opam_hash: str
    package: Package


@dataclass(frozen=True, kw_only=True)
class Project:
    root: Path
    config: Config
    packages: tuple[ProjectPackage, ...]

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILENAME

    @property
    def lock_path(self) -> Path:
        return self.root / "opamlock.lock"

    def package(self, name: str) -> ProjectPackage | None:
        for p in self.packages:
            if p.name == name:
                return p
        return None


def find_project(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding ``opamlock.toml`` (as cargo finds Cargo.toml)."""
    here = start.resolve()
    for d in (here, *here.parents):
        if (d / CONFIG_FILENAME).is_file():
            return d
    raise OpamlockError(
        f"no {CONFIG_FILENAME} in {here} or any parent directory",
        hint="run `opamlock init` in the project's root first",
    )


def opam_files(root: Path) -> list[Path]:
    """The project's opam files: ``*.opam`` beside ``opamlock.toml``, else a lone ``opam`` file."""
    found = sorted(p for p in root.glob("*.opam") if p.is_file())
    if not found:
        for alt in (root / "opam", root / "opam" / "opam"):
            if alt.is_file():
                return [alt]
    return found


def read_project_package(root: Path, path: Path) -> ProjectPackage:
    from opamlock.opamfile import parse  # the parser package; imported here to keep start-up light

    data = path.read_bytes()
    rel = path.relative_to(root).as_posix()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise OpamlockError(f"{rel}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    ast_file = parse(text, rel)
    if path.name.endswith(".opam"):
        name = path.name[: -len(".opam")]
    else:
        declared = ast_file.field("name")
        name = declared.value if isinstance(declared, ast.String) else root.name
    declared_v = ast_file.field("version")
    version = declared_v.value if isinstance(declared_v, ast.String) else DEV_VERSION
    try:
        ver = OpamVersion.parse(version)
    except InvalidVersion as e:
        raise OpamlockError(f"{rel}: invalid version: {e.message}", hint=e.hint) from e
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    pkg = Package(name, ver, _as_dev(ast_file), repository="", opam_hash=digest)
    return ProjectPackage(name=name, version=version, opam_file=rel, opam_hash=digest, package=pkg)


def _dev_value(v: ast.Value) -> ast.Value:
    if isinstance(v, ast.Ident):
        # `dev | true`: true whatever the solver binds `dev` to, and still names `dev`, so the
        # dependency keeps its kind ("dev") in the lock.
        return ast.Logop("|", v, ast.Bool(True, v.pos), v.pos) if v.name in ("dev", "_:dev") else v
    if isinstance(v, ast.Relop | ast.Logop | ast.EnvBinding):
        return type(v)(v.op, _dev_value(v.left), _dev_value(v.right), v.pos)  # type: ignore[arg-type]
    if isinstance(v, ast.PrefixRelop | ast.Pfxop):
        return type(v)(v.op, _dev_value(v.value), v.pos)  # type: ignore[arg-type]
    if isinstance(v, ast.List | ast.Group):
        return type(v)([_dev_value(i) for i in v.items], v.pos)
    if isinstance(v, ast.Option):
        return ast.Option(_dev_value(v.value), [_dev_value(a) for a in v.args], v.pos)
    return v


def _as_dev(f: ast.OpamFile) -> ast.OpamFile:
    """The project's packages are built from source, as opam pins them: their ``dev`` is true.

    The solver evaluates every package with ``dev`` false (right for repository packages), so the
    roots get it settled here, in their own formulas.
    """
    items: list[ast.Item] = []
    for it in f.items:
        if isinstance(it, ast.Variable):
            items.append(ast.Variable(it.name, _dev_value(it.value), it.pos))
        else:
            items.append(it)
    return ast.OpamFile(items, f.filename)


def load_project(root: Path) -> Project:
    """Read ``opamlock.toml`` and the project's opam files under ``root``."""
    root = root.resolve()
    config = load_config(root / CONFIG_FILENAME)
    files = opam_files(root)
    if not files:
        raise OpamlockError(
            f"{root}: no *.opam file: the project's opam files are what opamlock solves for",
            hint="add <name>.opam (dune generates it from dune-project with (generate_opam_files true))",
        )
    packages = tuple(read_project_package(root, f) for f in files)
    names = [p.name for p in packages]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise OpamlockError(f"{root}: two opam files define package {n!r}")
    return Project(root=root, config=config, packages=packages)


def init_project(
    root: Path,
    *,
    repositories: Sequence[RepositorySpec],
    platforms: Sequence[PlatformVars] | None = None,
    force: bool = False,
    mirage_targets: Sequence[str] = (),
) -> Path:
    """Write ``opamlock.toml`` for the project in ``root``; refuses to overwrite unless ``force``."""
    path = root / CONFIG_FILENAME
    if path.exists() and not force:
        raise OpamlockError(f"{path} already exists", hint="pass --force to overwrite it")
    if not repositories:
        raise OpamlockError(
            "a project needs at least one repository", hint="pass --repo URL#COMMIT or --repo PATH"
        )
    config = Config(
        repositories=tuple(repositories),
        platforms=tuple(platforms) if platforms else (host_platform(),),
        mirage=MappingProxyType({"targets": list(mirage_targets)}),
    )
    text = render_config(config)
    parse_config(text, str(path))  # what we write must read back
    atomic_write(path, text.encode("utf-8"))
    return path
