"""Monorepo mode: target libraries unpacked from the store into ``duniverse/``, as MirageOS 4 does.

Libraries that end up inside a unikernel are not installed by opam: dune builds them together
with the unikernel, cross-compiled for the target. opam-monorepo would download them; here they
come from the verified store and go through the safe extractor, which refuses members that would
escape ``duniverse/<name>/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from opamlock.build.errors import BuildError
from opamlock.build.frozen import LockPackage
from opamlock.fetch import Store, extract, make_item


def unpack_duniverse(packages: Sequence[LockPackage], store: Store, duniverse: Path) -> tuple[str, ...]:
    """Unpack each package's main source into ``duniverse/<name>/``; returns the names unpacked."""
    done = []
    for pkg in packages:
        nv = f"{pkg.name}.{pkg.version}"
        if pkg.source is None:
            raise BuildError(f"{nv} has no source, so it cannot be vendored into duniverse/")
        item = make_item(nv, pkg.source.url, pkg.source.checksums)
        found = store.lookup(item.keys, verify=True)
        if found is None:
            raise BuildError(f"{nv}: {pkg.source.url} is not in the store", hint="run `opamlock fetch` first")
        dest = duniverse / pkg.name
        dest.mkdir(parents=True, exist_ok=False)
        extract(found, dest, strip_top=True)
        done.append(pkg.name)
    return tuple(done)
