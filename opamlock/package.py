"""The package model: one opam file, read as opam reads a package definition.

A :class:`Package` wraps the parsed opam file of ``name.version`` and answers questions about it
(its dependency formula under an environment, its availability, its sources). Fields are derived
lazily and memoised: a solve touches a few hundred of the ~19,000 packages in a repository, and
``list`` touches none, so eager interpretation would waste most of a load.

Formulas and filters are kept as syntax until they are evaluated against an environment, because
their meaning depends on it (``{with-test}``, ``{os = "linux"}``, ``{= version}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opamlock.errors import OpamlockError
from opamlock.filter import FilterEnv, eval_bool
from opamlock.formula import Formula, formula_of_value
from opamlock.opamfile import ast
from opamlock.version import OpamVersion

__all__ = ["Command", "ExtraSource", "InvalidPackage", "Package", "Url"]

#: Flags that make the solver avoid a version (``avoid-version`` and the older ``deprecated``).
AVOID_FLAGS = frozenset({"avoid-version", "deprecated"})


class InvalidPackage(OpamlockError):
    """An opam file that parses but is not a valid package definition (wrong field shape)."""


@dataclass(frozen=True, slots=True)
class Url:
    src: str
    checksums: tuple[str, ...]
    mirrors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExtraSource:
    name: str
    src: str
    checksums: tuple[str, ...]
    mirrors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Command:
    """One build/install command after filtering: its arguments, still holding ``%{var}%``."""

    args: tuple[str, ...]


def _strings(v: ast.Value | None, what: str, filename: str) -> tuple[str, ...]:
    if v is None:
        return ()
    items = v.items if isinstance(v, ast.List) else [v]
    out: list[str] = []
    for it in items:
        if isinstance(it, ast.Option):
            it = it.value
        if isinstance(it, ast.String | ast.Ident):
            out.append(it.value if isinstance(it, ast.String) else it.name)
        else:
            line, col = it.pos
            raise InvalidPackage(f"{filename}:{line}:{col}: field {what!r} expects strings")
    return tuple(out)


def _string_field(v: ast.Value | None) -> str | None:
    if isinstance(v, ast.String):
        return v.value
    return None


#: Keys naming the source in a ``url``/``extra-source`` section. ``src`` is opam 2's; the others are
#: the older spellings ``OpamFile.URL`` still reads (``archive``, and one per VCS backend).
_SRC_KEYS = ("src", "archive", "http", "git", "hg", "darcs", "local")


def _section_url(
    items: list[ast.Item], filename: str
) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    src: str | None = None
    checksums: tuple[str, ...] = ()
    mirrors: tuple[str, ...] = ()
    for it in items:
        if not isinstance(it, ast.Variable):
            continue
        if it.name in _SRC_KEYS and isinstance(it.value, ast.String):
            src = it.value.value
        elif it.name == "checksum":
            checksums = _strings(it.value, "checksum", filename)
        elif it.name == "mirrors":
            mirrors = _strings(it.value, "mirrors", filename)
    return src, checksums, mirrors


class Package:
    """``name.version`` as defined by its opam file.

    Equality and hashing are by (name, version): two repositories defining the same
    ``name.version`` define the same node of the universe, and layering picks which one counts.
    """

    __slots__ = ("_cache", "name", "opam", "opam_hash", "repository", "version")

    def __init__(
        self,
        name: str,
        version: OpamVersion,
        opam: ast.OpamFile,
        *,
        repository: str = "",
        opam_hash: str = "",
    ) -> None:
        self.name = name
        self.version = version
        self.opam = opam
        self.repository = repository
        self.opam_hash = opam_hash
        self._cache: dict[str, Any] = {}

    # -- identity -----------------------------------------------------------------------------

    @property
    def nv(self) -> str:
        return f"{self.name}.{self.version}"

    def __repr__(self) -> str:
        return f"<Package {self.nv}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Package):
            return NotImplemented
        return self.name == other.name and self.version == other.version

    def __hash__(self) -> int:
        return hash((self.name, self.version))

    # -- static fields ------------------------------------------------------------------------

    def _memo(self, key: str, make: Any) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            val = self._cache[key] = make()
            return val

    def field(self, name: str) -> ast.Value | None:
        return self.opam.field(name)

    @property
    def flags(self) -> frozenset[str]:
        """opam flags, including the legacy ``tags: "flags:foo"`` spelling opam still honours."""

        def make() -> frozenset[str]:
            flags = set(_strings(self.field("flags"), "flags", self.opam.filename))
            for tag in _strings(self.field("tags"), "tags", self.opam.filename):
                if tag.startswith("flags:"):
                    flags.add(tag[len("flags:"):])
            return frozenset(flags)

        return self._memo("flags", make)  # type: ignore[no-any-return]

    @property
    def avoid(self) -> bool:
        return bool(self.flags & AVOID_FLAGS)

    @property
    def conflict_class(self) -> tuple[str, ...]:
        return self._memo(  # type: ignore[no-any-return]
            "cc", lambda: _strings(self.field("conflict-class"), "conflict-class", self.opam.filename)
        )

    @property
    def url(self) -> Url | None:
        def make() -> Url | None:
            for sec in self.opam.sections("url"):
                src, checksums, mirrors = _section_url(sec.items, self.opam.filename)
                if src is not None:
                    return Url(src, checksums, mirrors)
            return None

        return self._memo("url", make)  # type: ignore[no-any-return]

    @property
    def extra_sources(self) -> tuple[ExtraSource, ...]:
        def make() -> tuple[ExtraSource, ...]:
            out = []
            for sec in self.opam.sections("extra-source"):
                src, checksums, mirrors = _section_url(sec.items, self.opam.filename)
                if src is not None and sec.name is not None:
                    out.append(ExtraSource(sec.name, src, checksums, mirrors))
            return tuple(sorted(out, key=lambda e: e.name))

        return self._memo("extra", make)  # type: ignore[no-any-return]

    def text_field(self, name: str) -> str | None:
        return _string_field(self.field(name))

    # -- fields whose meaning depends on an environment ---------------------------------------

    def _formula(self, field: str, *, disjunction: bool) -> Formula:
        raw = self.field(field)
        return formula_of_value(raw, disjunction=disjunction, filename=self.opam.filename)

    def depends_formula(self) -> Formula:
        """The ``depends`` formula, filters unevaluated (see :meth:`Formula.resolve`)."""
        return self._memo("depends", lambda: self._formula("depends", disjunction=False))  # type: ignore[no-any-return]

    def depopts_formula(self) -> Formula:
        return self._memo("depopts", lambda: self._formula("depopts", disjunction=False))  # type: ignore[no-any-return]

    def conflicts_formula(self) -> Formula:
        """``conflicts`` is a disjunction: any one matching installed package is a conflict."""
        return self._memo("conflicts", lambda: self._formula("conflicts", disjunction=True))  # type: ignore[no-any-return]

    def available(self, env: FilterEnv) -> bool:
        """opam's default for an undefined ``available`` is *unavailable*."""
        raw = self.field("available")
        if raw is None:
            return True
        if isinstance(raw, ast.List):  # opam 1.2 style `available: [ … ]`
            return all(eval_bool(v, env, default=False) for v in raw.items)
        return eval_bool(raw, env, default=False)

    def commands(self, field: str, env: FilterEnv) -> tuple[Command, ...]:
        """``build``/``install``/``run-test``… after evaluating each command's and argument's filter.

        Arguments keep ``%{var}%`` interpolations (opam expands them at build time), except that
        ``Ident`` arguments such as ``name`` or ``jobs`` are written back as ``%{name}%``.
        """
        raw = self.field(field)
        if raw is None:
            return ()
        items: list[ast.Value] = list(raw.items) if isinstance(raw, ast.List) else [raw]
        # `build: ["make" "all"]` (a single command, not a list of lists) is accepted by opam too.
        if items and not any(isinstance(_unopt(i), ast.List) for i in items):
            items = [ast.List(list(items), raw.pos)]
        out: list[Command] = []
        for cmd in items:
            cmd_value, cmd_filter = _split_option(cmd)
            if cmd_filter is not None and not eval_bool(cmd_filter, env, default=False):
                continue
            if not isinstance(cmd_value, ast.List):
                continue
            args: list[str] = []
            for arg in cmd_value.items:
                value, filt = _split_option(arg)
                if filt is not None and not eval_bool(filt, env, default=False):
                    continue
                if isinstance(value, ast.String):
                    args.append(value.value)
                elif isinstance(value, ast.Ident):
                    args.append("%{" + value.name + "}%")
            if args:
                out.append(Command(tuple(args)))
        return tuple(out)

    def depexts(self, env: FilterEnv) -> tuple[str, ...]:
        """System packages (``depexts``) whose filter holds on the platform, sorted."""
        raw = self.field("depexts")
        if raw is None:
            return ()
        items = raw.items if isinstance(raw, ast.List) else [raw]
        names: set[str] = set()
        for it in items:
            value, filt = _split_option(it)
            if filt is not None and not eval_bool(filt, env, default=False):
                continue
            if isinstance(value, ast.String):
                names.add(value.value)
            elif isinstance(value, ast.List):  # opam 2.0 `[["libgmp-dev"] {os-family = "debian"}]`
                names.update(v.value for v in value.items if isinstance(v, ast.String))
        return tuple(sorted(names))


def _unopt(v: ast.Value) -> ast.Value:
    return v.value if isinstance(v, ast.Option) else v


def _split_option(v: ast.Value) -> tuple[ast.Value, ast.Value | None]:
    """``x {f}`` → (x, f); several filter args are ANDed as opam does."""
    if not isinstance(v, ast.Option):
        return v, None
    if not v.args:
        return v.value, None
    filt: ast.Value = v.args[0]
    for extra in v.args[1:]:
        filt = ast.Logop("&", filt, extra, extra.pos)
    return v.value, filt
