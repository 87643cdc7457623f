"""opam filters: three-valued expressions over variables (``opamFilter.ml`` semantics).

A filter evaluates to a bool, a string, or *undefined* (``None`` here). The rules opam follows,
which this module reproduces:

* an undefined variable is undefined; relational operators and ``!`` propagate undefined;
* ``&`` and ``|`` *absorb* it where the other side decides: ``undef & false = false`` and
  ``undef | true = true``, while ``undef & true`` and ``undef | false`` stay undefined;
* ``?e`` is true exactly when ``e`` is defined;
* relational operators compare their sides as *versions* (``os = "linux"`` is a version
  comparison too, which for plain words is string equality);
* strings are interpolated: ``"%{os}%-%{arch}%"``; ``%{v?a:b}%`` chooses on a bool.

What undefined finally *means* is up to the use site (``available`` → unavailable, a dependency
→ dropped), so this module only reports it; :func:`eval_bool` takes the site's default.
Evaluation is pure: the environment is an explicit mapping from identifier text to value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from opamlock.opamfile import ast
from opamlock.version import compare_versions

__all__ = ["FValue", "FilterEnv", "and3", "eval_bool", "eval_filter", "expand_string", "or3", "to_bool"]

FValue = bool | str | None
FilterEnv = Mapping[str, "bool | str"]

_INTERP = re.compile(r"%\{([^}]*)\}%")


def _lookup(name: str, env: FilterEnv) -> FValue:
    v = env.get(name)
    if v is not None:
        return v
    # `pkg:var` with several packages `a+b:installed` is the conjunction (opam: all of them).
    if ":" in name:
        pkgs, _, var = name.rpartition(":")
        if "+" in pkgs:
            vals = [env.get(f"{p}:{var}") for p in pkgs.split("+")]
            if all(isinstance(x, bool) for x in vals):
                return all(vals)
        elif pkgs == "_":
            return env.get(var)
    return None


def expand_string(s: str, env: FilterEnv) -> str:
    """Interpolate ``%{var}%``; an undefined variable is left as written, as opam does."""
    if "%{" not in s:
        return s

    def repl(m: re.Match[str]) -> str:
        body = m.group(1)
        var, q, alts = body.partition("?")
        val = _lookup(var, env)
        if q:
            a, _, b = alts.partition(":")
            if isinstance(val, bool):
                return a if val else b
            if isinstance(val, str) and val in ("true", "false"):
                return a if val == "true" else b
            return m.group(0)
        if val is None:
            return m.group(0)
        if isinstance(val, bool):
            return "true" if val else "false"
        return val

    return _INTERP.sub(repl, s)


def to_bool(v: FValue) -> bool | None:
    """opam's conversion to bool: ``"true"``/``"false"`` strings convert, other strings do not."""
    if isinstance(v, bool) or v is None:
        return v
    if v == "true":
        return True
    if v == "false":
        return False
    return None


def and3(a: bool | None, b: bool | None) -> bool | None:
    """Three-valued conjunction: false absorbs undefined."""
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def or3(a: bool | None, b: bool | None) -> bool | None:
    """Three-valued disjunction: true absorbs undefined."""
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


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
        return _lookup(v.name, env)
    if isinstance(v, ast.Bool):
        return v.value
    if isinstance(v, ast.String):
        return expand_string(v.value, env)
    if isinstance(v, ast.Int):
        return str(v.value)
    if isinstance(v, ast.Logop):
        left = to_bool(eval_filter(v.left, env))
        right = to_bool(eval_filter(v.right, env))
        return and3(left, right) if v.op == "&" else or3(left, right)
    if isinstance(v, ast.Pfxop):
        inner = eval_filter(v.value, env)
        if v.op == "?":
            return inner is not None
        b = to_bool(inner)
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
        # A group of several filters is their conjunction.
        acc: bool | None = True
        for it in v.items:
            acc = and3(acc, to_bool(eval_filter(it, env)))
        return acc
    # Lists, options, prefix relops and env bindings are not filters.
    return None


def eval_bool(v: ast.Value, env: FilterEnv, *, default: bool) -> bool:
    """Evaluate to a bool; undefined (or a non-boolean string) gives the use site's ``default``."""
    b = to_bool(eval_filter(v, env))
    return default if b is None else b


def compare(op: str, a: str, b: str) -> bool:
    """Version comparison as filters and constraints perform it."""
    return _relop(op, a, b)
