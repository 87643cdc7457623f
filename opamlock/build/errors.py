"""Errors of ``opamlock build``; failures inside a step are :class:`opamlock.sandbox.SandboxError`."""

from __future__ import annotations

from opamlock.errors import OpamlockError


class BuildError(OpamlockError):
    """The build cannot start or its inputs are inconsistent (lock, repository, store, config)."""


class OpamHashMismatch(BuildError):
    """A repository's opam file is not the one the lock pinned."""
