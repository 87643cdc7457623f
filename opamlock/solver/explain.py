"""Why a request has no solution, as a short chain a user can act on: the one place failure becomes text.

Two sources of failure, one style of answer:

* static pruning (:mod:`.prune`) proved that a requested name has no possible version; every
  removed version carries its reason, so the chain is followed from the request down to a leaf
  (a missing name, an unavailable package, a requested range, a conflict with a forced name);
* the search (resolvelib) ran out of candidates; its ``causes`` are the requirements that clashed,
  each with the package that imposed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opamlock.formula import Atom, Or, Resolved, VConstraint
from opamlock.opamfile import ast
from opamlock.solver.candidates import Absent, Branch, PkgCandidate, PkgInfo
from opamlock.solver.factory import Factory
from opamlock.solver.prune import Clash, NotRequested, Restricted, Unavailable, Unsatisfiable
from opamlock.solver.requirements import Choose, Forbid, Member, Need
from opamlock.solver.solution import SolveError

__all__ = ["explain_search_failure", "explain_static_failure", "render_filter"]

_MAX_DEPTH = 4
_MAX_LINES = 10


def request_text(request: Sequence[Atom]) -> str:
    return " ".join(_atom_cli(a) for a in request)


def _atom_cli(a: Atom) -> str:
    """An atom as one would type it to opam: ``name``, ``name.1.0``, ``name<4.08``."""
    vf = a.vf
    if isinstance(vf, VConstraint):
        return f"{a.name}.{vf.version}" if vf.op == "=" else f"{a.name}{vf.op}{vf.version}"
    c = str(vf)
    return f"{a.name} {{{c}}}" if c else a.name


def render_filter(v: ast.Value) -> str:
    """A filter expression as opam would write it (enough to show a failing ``available``)."""
    if isinstance(v, ast.Ident):
        return v.name
    if isinstance(v, ast.Bool):
        return "true" if v.value else "false"
    if isinstance(v, ast.String):
        return f'"{v.value}"'
    if isinstance(v, ast.Int):
        return str(v.value)
    if isinstance(v, ast.Relop):
        return f"{render_filter(v.left)} {v.op} {render_filter(v.right)}"
    if isinstance(v, ast.PrefixRelop):
        return f"{v.op} {render_filter(v.value)}"
    if isinstance(v, ast.Logop):
        return f"{render_filter(v.left)} {v.op} {render_filter(v.right)}"
    if isinstance(v, ast.Pfxop):
        return f"{v.op}{render_filter(v.value)}"
    if isinstance(v, ast.Group):
        return "(" + " ".join(render_filter(i) for i in v.items) + ")"
    if isinstance(v, ast.List):
        return "[" + " ".join(render_filter(i) for i in v.items) + "]"
    return "…"


class _Chain:
    def __init__(self, factory: Factory) -> None:
        self.f = factory
        self.lines: list[str] = []
        self.seen: set[str] = set()

    def emit(self, depth: int, text: str) -> None:
        if len(self.lines) < _MAX_LINES:
            self.lines.append("  " * depth + text)
        elif len(self.lines) == _MAX_LINES:
            self.lines.append("  " * depth + "… (more reasons omitted)")

    def why_no(self, atom: Atom, depth: int, who: str) -> None:
        """Explain why no possible version of ``atom.name`` matches ``atom``."""
        infos = self.f.by_name.get(atom.name)
        if not infos:
            self.emit(depth, f"{who} requires {atom}, but no package {atom.name} exists in the repositories")
            return
        matching = [i for i in infos if atom.matches(i.version)]
        if not matching:
            newest = infos[0].version
            self.emit(depth, f"{who} requires {atom}, but no version of {atom.name} matches "
                             f"(the newest is {newest})")
            return
        reasons = {type(i.dead) for i in matching}
        if reasons == {NotRequested}:
            asked = next(r.atom for i in matching if isinstance(r := i.dead, NotRequested))
            self.emit(depth, f"{who} requires {atom}, but the request asks for {_atom_cli(asked)}")
            return
        forcers = {r.by for i in matching if isinstance(r := i.dead, Restricted)}
        if reasons == {Restricted} and len(forcers) == 1:
            r0 = matching[0].dead
            assert isinstance(r0, Restricted)
            self.emit(depth, f"{who} requires {atom}, but {r0.example} requires {r0.atom} "
                             f"(and {r0.by} is needed)")
            return
        self.emit(depth, f"{who} requires {atom}, and every matching version is ruled out:")
        self.why_dead_group(matching, depth + 1)

    def why_dead_group(self, infos: Sequence[PkgInfo], depth: int) -> None:
        """Explain a group of ruled-out versions: the newest one fully, then how many more share it."""
        if depth > _MAX_DEPTH:
            self.emit(depth, "…")
            return
        groups: dict[str, list[PkgInfo]] = {}
        for i in infos:
            groups.setdefault(_reason_key(i), []).append(i)
        listed = list(groups.values())
        for members in listed[:2]:
            self.why_dead(members[0], depth, others=len(members) - 1)
        rest = sum(len(m) for m in listed[2:])
        if rest:
            self.emit(depth, f"(and {rest} more versions, for other reasons)")

    def why_dead(self, i: PkgInfo, depth: int, others: int = 0) -> None:
        more = f" (and {others} older version{'s' if others > 1 else ''} likewise)" if others else ""
        r = i.dead
        if isinstance(r, Unavailable):
            cond = i.package.field("available")
            text = render_filter(cond) if cond is not None else "false"
            self.emit(depth, f"{i.nv} is not available here{more}: available: {text}")
        elif isinstance(r, NotRequested):
            self.emit(depth, f"{i.nv} is excluded by the request {_atom_cli(r.atom)}{more}")
        elif isinstance(r, Restricted):
            self.emit(depth, f"{i.nv} is excluded{more}: {r.by} is required, "
                             f"and {r.example} requires {r.atom}")
        elif isinstance(r, Clash):
            if r.cls is not None:
                self.emit(depth, f"{i.nv} shares conflict-class {r.cls} with {r.example}, "
                                 f"which is required{more}")
            elif r.atom is not None and r.atom.name == r.other:
                self.emit(depth, f"{i.nv} conflicts with {r.atom}, and {r.example} is required{more}")
            else:
                self.emit(depth, f"{i.nv} is excluded{more}: {r.example} is required "
                                 f"and conflicts with {r.atom}")
        elif isinstance(r, Unsatisfiable):
            if i.nv in self.seen:  # a dependency cycle: said already
                self.emit(depth, f"{i.nv} cannot be installed (see above){more}")
                return
            self.seen.add(i.nv)
            self.why_unsat(i.nv + more, r.need, depth)
        else:
            self.emit(depth, f"{i.nv} is ruled out{more}")

    def why_unsat(self, who: str, need: Resolved, depth: int) -> None:
        if isinstance(need, Atom):
            self.why_no(need, depth, who)
            return
        alternatives = need.items if isinstance(need, Or) else (need,)
        self.emit(depth, f"{who} requires {need}, and no alternative is possible:")
        for alt in alternatives[:3]:
            first = next((a for a in _atoms(alt) if not self._atom_possible(a)), None)
            if first is not None:
                self.why_no(first, depth + 1, "the alternative")

    def _atom_possible(self, a: Atom) -> bool:
        return any(a.matches(i.version) for i in self.f.live.get(a.name, ()))


def _atoms(f: Resolved) -> Iterable[Atom]:
    from opamlock.formula import atoms_of

    return atoms_of(f)


def _reason_key(i: PkgInfo) -> str:
    r = i.dead
    if isinstance(r, Unsatisfiable):
        return f"unsat:{r.need}"
    if isinstance(r, Restricted | Clash):
        return f"{type(r).__name__}:{r.other if isinstance(r, Clash) else r.by}"
    if isinstance(r, Unavailable):
        cond = i.package.field("available")
        return "unavailable:" + (render_filter(cond) if cond is not None else "")
    return type(r).__name__


def explain_static_failure(factory: Factory, request: Sequence[Atom]) -> SolveError | None:
    """A :class:`SolveError` if pruning proved some requested name impossible, else ``None``."""
    for name, atoms in factory.roots.items():
        if factory.live.get(name):
            continue
        chain = _Chain(factory)
        infos = factory.by_name.get(name, [])
        if not infos:
            msg = f"no package named {name!r} in the repositories"
            raise_hint = "check the spelling, or add the repository that provides it"
            return SolveError(msg, causes=(msg,), hint=raise_hint)
        chain.emit(0, f"{_atom_cli(atoms[0]) if len(atoms) == 1 else name} is requested, "
                      f"but no version of {name} can be installed:")
        matching = [i for i in infos if all(a.matches(i.version) for a in atoms)]
        if not matching:
            chain.emit(1, f"no version of {name} matches the request (versions: "
                          f"{', '.join(str(i.version) for i in infos[:8])}{'…' if len(infos) > 8 else ''})")
        else:
            chain.why_dead_group(matching, 1)
        text = "\n".join(chain.lines)
        return SolveError(
            f"cannot satisfy the request `{request_text(request)}`:\n{text}",
            causes=tuple(line.strip() for line in chain.lines),
            hint="relax the constraint named last in the chain, or pick versions it allows",
        )
    return None


def _req_text(req: Any) -> str:
    if isinstance(req, Need):
        return str(req.atom)
    if isinstance(req, Choose):
        return str(req.formula)
    if isinstance(req, Member):
        return str(req)
    return str(req)


def _parent_text(parent: Any, or_owners: Mapping[str, Sequence[str]]) -> str:
    if parent is None:
        return "the request"
    if isinstance(parent, PkgCandidate):
        return f"{parent.name}.{parent.version}"
    if isinstance(parent, Branch):
        owners = or_owners.get(parent.key, ())
        who = owners[0] if owners else "a package"
        return f"{who} (choosing {parent.formula} among its alternatives)"
    if isinstance(parent, Absent):
        return str(parent)
    return str(parent)


def explain_search_failure(
    causes: Sequence[Any], request: Sequence[Atom], or_owners: Mapping[str, Sequence[str]]
) -> SolveError:
    """Turn resolvelib's ``ResolutionImpossible.causes`` into the clashing requirements, one per line."""
    lines: list[str] = []
    for info in causes:
        req = info.requirement
        verb = "conflicts with" if isinstance(req, Forbid) else "requires"
        text = f"{req.name} {{{req.vf}}}" if isinstance(req, Forbid) and str(req.vf) else (
            req.name if isinstance(req, Forbid) else _req_text(req))
        line = f"{_parent_text(info.parent, or_owners)} {verb} {text}"
        if line not in lines:
            lines.append(line)
    body = "\n".join("  " + ln for ln in lines[:12])
    if len(lines) > 12:
        body += f"\n  (and {len(lines) - 12} more)"
    return SolveError(
        f"cannot satisfy the request `{request_text(request)}`: these requirements clash:\n{body}",
        causes=tuple(lines),
        hint="relax one of the clashing constraints, or pin a different version of a package named here",
    )
