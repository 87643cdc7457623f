"""opam filters: three-valued expressions over variables (``opamFilter.ml`` semantics).

A filter evaluates to a bool, a string, or *undefined* (``None`` here). The rules opam follows,
which this module reproduces (``OpamFilter.reduce``):

* an undefined variable is undefined; relational operators and ``!`` propagate undefined;
* ``&`` and ``|`` *absorb* it only where the other side is a literal deciding bool:
  ``undef & false = false`` and ``undef | true = true``; ``undef & true`` and ``undef | false``
  stay undefined. Absorption looks at real bools only: ``undef & "false"`` is undefined, while
  ``"true" & "false"`` is false (strings convert to bools only when both sides are defined);
* ``?e`` is true exactly when ``e`` is defined;
* relational operators compare their sides as *versions*, bools as ``"true"``/``"false"``;
* strings are interpolated: ``"%{os}%-%{arch}%"``, ``%{v?a:b}%`` chooses on a bool (``b`` when
  ``v`` is false *or undefined*), ``%%`` is a literal ``%``; an undefined variable expands to
  the empty string.

Identifiers: ``os`` (global), ``foo:installed`` (package ``foo``), ``_:version`` (the package
being evaluated), ``a+b:installed`` (the conjunction over packages, opam's fold) and
``foo:enable`` (``"enable"``/``"disable"`` from ``foo:installed``).

What undefined finally *means* is up to the use site (``available`` → unavailable, a dependency
→ dropped), so this module only reports it; :func:`eval_bool` takes the site's default.
Evaluation is pure: the environment is an explicit mapping from identifier text to value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from opamlock.opamfile import ast
from opamlock.version import compare_versions

__all__ = [
    "FValue",
    "FilterEnv",
    "and3",
    "eval_bool",
    "eval_filter",
    "expand_string",
    "lookup",
    "or3",
    "to_bool",
]

FValue = bool | str | None
FilterEnv = Mapping[str, "bool | str"]

# opam's interpolation regex (``string_interp_regex``): ``%%``, or ``%{`` then anything up to
# ``}%`` on the same line; a ``}`` not followed by ``%`` belongs to the body. Group 2 is absent
# when the interpolation is not closed, and the text is then left as written.
_INTERP = re.compile(r"%%|%\{((?:[^}\n]|\}(?:[^%\n]|\Z))*)(\}%)?")


# --------------------------------------------------------------------------------------------
# Identifiers


def _bool_of_value(v: FValue) -> bool | None:
    """opam's ``bool_of_value``: bools, and the strings ``"true"``/``"false"``."""
    if isinstance(v, bool) or v is None:
        return v
    if v == "true":
        return True
    if v == "false":
        return False
    return None


def _resolve_scoped(pkg: str, var: str, env: FilterEnv) -> FValue:
    if pkg == "_":
        # The package being evaluated: its own binding, else ``<its name>:var``. Never the global
        # variable of the same name (opam resolves ``_:x`` in the package scope only).
        v = env.get(f"_:{var}")
        if v is not None:
            return v
        own = env.get("name")
        if isinstance(own, str):
            v = env.get(f"{own}:{var}")
            if v is not None:
                return v
        # In a package's own file, ``name`` and ``version`` *are* its variables.
        return env.get(var) if var in ("name", "version") else None
    return env.get(f"{pkg}:{var}")


def _resolve(pkgs: list[str], var: str, env: FilterEnv) -> FValue:
    if not pkgs:
        return env.get(var)
    if len(pkgs) == 1:
        return _resolve_scoped(pkgs[0], var, env)
    # ``a+b:var``: opam folds from ``true``; a false result sticks, a literal ``true`` keeps the
    # accumulator, and anything else (including undefined) replaces it by its bool reading.
    acc: bool | None = True
    for p in pkgs:
        if acc is False:
            break
        v = _resolve_scoped(p, var, env)
        if v is True:
            continue
        acc = _bool_of_value(v)
    return acc


def _split_ident(text: str, *, interpolation: bool) -> tuple[list[str], str, tuple[str, str] | None]:
    """``pkgs``, ``var`` and converter of an identifier, cut the way opam cuts it (from the right)."""
    head, colon, last = text.rpartition(":")
    if not colon:
        return [], text, None
    p, q, if_true = head.rpartition("?")
    if not q:
        return head.split("+"), last, None
    if interpolation and p == "":
        # ``%{?pkg+:var:}%`` (opam 2.2): a way to name a package whose name contains ``+``.
        pkg, c2, var = if_true.rpartition(":")
        return ([pkg], var, None) if c2 else ([], last, None)
    converter = (if_true, last)
    pkgs, c3, var = p.rpartition(":")
    if not c3:
        return [], p, converter
    return pkgs.split("+"), var, converter


def _resolve_ident(text: str, env: FilterEnv, *, interpolation: bool, keep_undef: bool) -> FValue:
    pkgs, var, converter = _split_ident(text, interpolation=interpolation)
    if pkgs and var == "enable" and converter is None:
        var, converter = "installed", ("enable", "disable")
    value = _resolve(pkgs, var, env)
    if converter is None:
        return value
    b = _bool_of_value(value)
    if b is None and keep_undef:
        return value
    return converter[0] if b else converter[1]


def lookup(name: str, env: FilterEnv) -> FValue:
    """The value of identifier ``name`` (``os``, ``foo:version``, ``_:name``, ``a+b:installed``)."""
    if name in env:
        return env[name]
    return _resolve_ident(name, env, interpolation=False, keep_undef=False)


# --------------------------------------------------------------------------------------------
# Strings


def expand_string(s: str, env: FilterEnv, *, partial: bool = False) -> str:
    """Interpolate ``%{var}%`` and ``%%`` as opam does when it uses a string.

    An undefined variable expands to ``""``, and ``%{v?a:b}%`` to ``b``. With ``partial=True``
    (opam's partial expansion, used before the final environment is known) undefined
    interpolations and ``%%`` are kept as written, and ``%`` inside expanded values is escaped
    as ``%%``, so that a later full expansion gives the same result as one full expansion.
    """
    if "%" not in s:
        return s

    def repl(m: re.Match[str]) -> str:
        text = m.group(0)
        if text == "%%":
            return text if partial else "%"
        if m.group(2) is None:
            return text  # unclosed: opam logs it and keeps the text
        val = _resolve_ident(m.group(1), env, interpolation=True, keep_undef=partial)
        if val is None:
            return text if partial else ""
        out = ("true" if val else "false") if isinstance(val, bool) else val
        return out.replace("%", "%%") if partial else out

    return _INTERP.sub(repl, s)


# --------------------------------------------------------------------------------------------
# Three-valued logic


def to_bool(v: FValue) -> bool | None:
    """opam's conversion to bool: ``"true"``/``"false"`` strings convert, other strings do not."""
    return _bool_of_value(v)


def and3(a: bool | None, b: bool | None) -> bool | None:
    """Three-valued conjunction on bools: false absorbs undefined."""
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def or3(a: bool | None, b: bool | None) -> bool | None:
    """Three-valued disjunction on bools: true absorbs undefined."""
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _logop(conj: bool, a: FValue, b: FValue) -> FValue:
    """opam's ``logop2``: only a real bool equal to the absorbing value absorbs undefined."""
    absorb = not conj
    if b is absorb or a is absorb:  # identity: only the bools True/False themselves
        return absorb
    if a is None or b is None:
        return None
    ba, bb = _bool_of_value(a), _bool_of_value(b)
    if ba is None or bb is None:
        return None  # a non-boolean string: opam logs an error and the result is undefined
    return (ba and bb) if conj else (ba or bb)


def _to_str(v: FValue) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def _relop(op: str, a: str, b: str) -> bool:
    c = compare_versions(a, b)
    if op == "=":
        return c == 0
    if op == "!=":
        return c != 0
    if op == "<":
        return c < 0
    if op == "<=":
        return c <= 0
    if op == ">":
        return c > 0
    return c >= 0


def eval_filter(v: ast.Value, env: FilterEnv) -> FValue:
    """Evaluate a filter expression to bool, string or undefined (``None``)."""
    if isinstance(v, ast.Ident):
        val = lookup(v.name, env)
        # opam's ``reduce`` expands any string result, including a variable's contents.
        return expand_string(val, env) if isinstance(val, str) else val
    if isinstance(v, ast.Bool):
        return v.value
    if isinstance(v, ast.String):
        return expand_string(v.value, env)
    if isinstance(v, ast.Int):
        return str(v.value)
    if isinstance(v, ast.Logop):
        return _logop(v.op == "&", eval_filter(v.left, env), eval_filter(v.right, env))
    if isinstance(v, ast.Pfxop):
        inner = eval_filter(v.value, env)
        if v.op == "?":
            return inner is not None
        b = _bool_of_value(inner)
        return None if b is None else not b
    if isinstance(v, ast.Relop):
        ls = _to_str(eval_filter(v.left, env))
        rs = _to_str(eval_filter(v.right, env))
        if ls is None or rs is None:
            return None
        return _relop(v.op, ls, rs)
    if isinstance(v, ast.Group):
        if len(v.items) == 1:
            return eval_filter(v.items[0], env)
        # ``()`` is true in opam. Several juxtaposed filters are a format error there; reading
        # them as a conjunction is the lenient choice.
        acc: FValue = True
        for it in v.items:
            acc = _logop(True, acc, eval_filter(it, env))
        return acc
    # Lists, options, prefix relops and env bindings are not filters.
    return None


def eval_bool(v: ast.Value, env: FilterEnv, *, default: bool) -> bool:
    """Evaluate to a bool; undefined (or a non-boolean string) gives the use site's ``default``."""
    b = _bool_of_value(eval_filter(v, env))
    return default if b is None else b
