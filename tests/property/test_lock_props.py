"""Laws of the lock's text form: read(write(lock)) == lock, and writing is a pure function of the lock."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from opamlock.lockfile import (
    Dependency,
    ExtraSource,
    Lock,
    LockedPackage,
    LockedPlatform,
    LockedRepository,
    LockedRoot,
    Source,
    dumps,
    loads,
)

names = st.from_regex(r"[a-z][a-z0-9_\-]{0,12}", fullmatch=True)
versions = st.from_regex(r"[0-9a-z~][0-9a-z.+~\-]{0,10}", fullmatch=True)
# Any text, including quotes, backslashes, control characters and non-ASCII: the writer must escape.
texts = st.text(max_size=20)
kinds = st.sampled_from(["build", "runtime", "post", "test", "doc", "dev"])
checksums = st.lists(
    st.builds(
        lambda a, h: f"{a}={h}",
        st.sampled_from(["md5", "sha256", "sha512"]),
        st.from_regex(r"[0-9a-f]{8}", fullmatch=True),
    ),
    max_size=3,
)
commands = st.lists(st.lists(texts, min_size=1, max_size=4).map(tuple), max_size=3).map(tuple)


@st.composite
def locks(draw: st.DrawFn) -> Lock:
    plats = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    platforms = tuple(
        LockedPlatform(name=p, vars=tuple(draw(st.dictionaries(names, texts, max_size=3)).items()))
        for p in plats
    )
    repos = tuple(
        LockedRepository(name=n, url=draw(texts), identity=draw(texts))
        for n in draw(st.lists(names, min_size=1, max_size=2, unique=True))
    )
    pkg_names = draw(st.lists(names, max_size=6, unique=True))
    root_names = draw(
        st.lists(names.filter(lambda n: n not in pkg_names), min_size=1, max_size=2, unique=True)
    )
    # Names locked on every platform by a single record: the only safe targets for edges.
    everywhere = [n for n in pkg_names if draw(st.booleans())] or pkg_names[:1]
    deps = (
        st.lists(
            st.builds(lambda n, k: Dependency(name=n, kind=k), st.sampled_from(everywhere), kinds), max_size=4
        )
        if everywhere
        else st.just([])
    )
    packages = []
    for n in pkg_names:
        groups: list[tuple[str, ...]] = [()] if n in everywhere else []
        if not groups:
            chosen = draw(st.lists(st.sampled_from(plats), min_size=1, unique=True))
            split = draw(st.integers(1, len(chosen)))
            groups = [tuple(chosen[:split])] + ([tuple(chosen[split:])] if chosen[split:] else [])
        for g in groups:
            source = draw(
                st.none()
                | st.builds(
                    lambda u, c, m: Source(url=u, checksums=tuple(c), mirrors=tuple(m)),
                    texts,
                    checksums,
                    st.lists(texts, max_size=2),
                )
            )
            extras = draw(
                st.lists(
                    st.builds(
                        lambda a, u, c: ExtraSource(name=a, url=u, checksums=tuple(c)),
                        texts,
                        texts,
                        checksums,
                    ),
                    max_size=2,
                    unique_by=lambda e: e.name,
                )
            )
            packages.append(
                LockedPackage(
                    name=n,
                    version=draw(versions),
                    repository=draw(st.sampled_from([r.name for r in repos])),
                    opam_hash=draw(texts),
                    platforms=g,
                    flags=tuple(draw(st.lists(names, max_size=2))),
                    depexts=tuple(draw(st.lists(texts, max_size=2))),
                    source=source,
                    extra_sources=tuple(extras),
                    build=draw(commands),
                    install=draw(commands),
                    depends=tuple(draw(deps)),
                )
            )
    roots = tuple(
        LockedRoot(
            name=n,
            version=draw(versions),
            opam_file=f"{n}.opam",
            opam_hash=draw(texts),
            depends=tuple(draw(deps)),
        )
        for n in root_names
    )
    return Lock(
        inputs_hash=draw(texts),
        config_hash=draw(texts),
        source_date_epoch=draw(st.integers(0, 2**40)),
        repositories=repos,
        platforms=platforms,
        roots=roots,
        packages=tuple(packages),
    )


@settings(max_examples=150, deadline=None)
@given(locks())
def test_write_then_read_gives_the_same_lock(lock: Lock) -> None:
    text = dumps(lock)
    assert loads(text) == lock


@settings(max_examples=100, deadline=None)
@given(locks(), st.randoms(use_true_random=False))
def test_text_does_not_depend_on_construction_order(lock: Lock, rnd: random.Random) -> None:
    """Records built in any order, with any order of their sets, give the same bytes."""

    def shuffled(t: tuple) -> tuple:  # type: ignore[type-arg]
        out = list(t)
        rnd.shuffle(out)
        return tuple(out)

    packages = tuple(
        LockedPackage(
            name=p.name,
            version=p.version,
            repository=p.repository,
            opam_hash=p.opam_hash,
            platforms=shuffled(p.platforms),
            flags=shuffled(p.flags),
            depexts=shuffled(p.depexts),
            source=None
            if p.source is None
            else Source(url=p.source.url, checksums=shuffled(p.source.checksums), mirrors=p.source.mirrors),
            extra_sources=shuffled(p.extra_sources),
            build=p.build,
            install=p.install,
            depends=shuffled(p.depends),
        )
        for p in lock.packages
    )
    other = Lock(
        inputs_hash=lock.inputs_hash,
        config_hash=lock.config_hash,
        source_date_epoch=lock.source_date_epoch,
        repositories=lock.repositories,
        platforms=shuffled(lock.platforms),
        roots=shuffled(lock.roots),
        packages=shuffled(packages),
    )
    assert other == lock
    assert dumps(other) == dumps(lock)
    assert dumps(loads(dumps(lock))) == dumps(lock)
