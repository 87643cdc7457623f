"""The lock's records, text form, invariants and safe replacement on disk."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from opamlock import atomicfile
from opamlock.lockfile import (
    Dependency,
    InvalidLock,
    Lock,
    LockedPackage,
    LockedPlatform,
    LockedRepository,
    LockedRoot,
    LockInputs,
    Source,
    dumps,
    load,
    loads,
    write_if_changed,
)

REPO = LockedRepository(name="opam-repository", url="../repo", identity="sha256:abc")
LINUX = LockedPlatform(name="linux-x86_64", vars=(("os", "linux"), ("arch", "x86_64")))
MACOS = LockedPlatform(name="macos-arm64", vars=(("os", "macos"), ("arch", "arm64")))


def pkg(name: str, version: str = "1.0", **kw: object) -> LockedPackage:
    return LockedPackage(
        name=name, version=version, repository="opam-repository", opam_hash="sha256:" + name, **kw
    )  # type: ignore[arg-type]


def make_lock(
    packages: tuple[LockedPackage, ...],
    roots: tuple[LockedRoot, ...] | None = None,
    platforms: tuple[LockedPlatform, ...] = (LINUX,),
) -> Lock:
    if roots is None:
        roots = (
            LockedRoot(
                name="app",
                version="dev",
                opam_file="app.opam",
                opam_hash="sha256:app",
                depends=tuple(Dependency(name=p.name) for p in packages if not p.platforms),
            ),
        )
    return Lock(
        inputs_hash="sha256:i",
        config_hash="sha256:c",
        repositories=(REPO,),
        platforms=platforms,
        roots=roots,
        packages=packages,
    )


GOLDEN = Path(__file__).parent.parent / "fixtures" / "projects" / "golden" / "small.lock"


def small_lock() -> Lock:
    return make_lock(
        (
            pkg(
                "lwt",
                "5.9.1",
                source=Source(url="https://example.org/lwt-5.9.1.tbz", checksums=("sha256=11", "sha512=22")),
                build=(("dune", "build", "-p", "%{name}%", "-j", "%{jobs}%"),),
                depends=(Dependency(name="dune", kind="build"), Dependency(name="ocaml")),
            ),
            pkg("dune", "3.20.2", depends=(Dependency(name="ocaml"),)),
            pkg("ocaml", "5.4.0", flags=("compiler",)),
        )
    )


def test_text_matches_golden_file() -> None:
    text = dumps(small_lock())
    if os.environ.get("OPAMLOCK_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    assert loads(text) == small_lock()


def test_packages_are_sorted_by_name_then_opam_version_order() -> None:
    lock = make_lock(
        (
            pkg("b"),
            pkg("a", "1.10", platforms=("linux-x86_64",)),
            pkg("a", "1.9", platforms=("macos-arm64",)),
        ),
        roots=(),
        platforms=(LINUX, MACOS),
    )
    assert [p.nv for p in lock.packages] == ["a.1.9", "a.1.10", "b.1.0"]
    assert lock.versions("macos-arm64") == {"a": "1.9", "b": "1.0"}
    assert lock.versions("linux-x86_64") == {"a": "1.10", "b": "1.0"}


def test_checksums_are_strongest_first() -> None:
    s = Source(url="u", checksums=("md5=1", "sha256=2", "sha512=3"))
    assert s.checksums == ("sha512=3", "sha256=2", "md5=1")


def test_a_dependency_on_an_unlocked_package_is_rejected() -> None:
    with pytest.raises(InvalidLock, match="depends on ghost, which is not locked for platform linux-x86_64"):
        make_lock((pkg("a", depends=(Dependency(name="ghost"),)),))


def test_a_name_locked_twice_on_a_platform_is_rejected() -> None:
    with pytest.raises(InvalidLock, match="a is locked twice for platform linux-x86_64"):
        make_lock((pkg("a", "1"), pkg("a", "2", platforms=("linux-x86_64",))), roots=())


def test_an_unknown_repository_or_platform_is_rejected() -> None:
    with pytest.raises(InvalidLock, match="unknown repository"):
        make_lock((LockedPackage(name="a", version="1", repository="nope", opam_hash="h"),), roots=())
    with pytest.raises(InvalidLock, match="unknown platform"):
        make_lock((pkg("a", platforms=("plan9-mips",)),), roots=())


def test_reader_names_the_key_path() -> None:
    text = dumps(small_lock()).replace('version = "5.9.1"', "version = 591")
    with pytest.raises(InvalidLock, match=r"package\[1\]\.version: expected a string"):
        loads(text)
    text = dumps(small_lock()).replace('kind = "build"', 'kind = "sometimes"')
    with pytest.raises(InvalidLock, match=r"package\[1\]\.depends\[0\]\.kind: unknown dependency kind"):
        loads(text)


def test_reader_rejects_other_lock_versions_and_bad_toml() -> None:
    with pytest.raises(InvalidLock, match="lock-version 2 is not supported"):
        loads(dumps(small_lock()).replace("lock-version = 1", "lock-version = 2"))
    with pytest.raises(InvalidLock, match="not valid TOML"):
        loads("lock-version = ")


def test_load_of_a_missing_lock_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(InvalidLock) as e:
        load(tmp_path / "opamlock.lock")
    assert e.value.hint == "create it with `opamlock lock`"


def test_inputs_changes_name_added_removed_and_reordered_repositories() -> None:
    def inputs(*repos: tuple[str, str]) -> LockInputs:
        return LockInputs(roots=(), config_hash="c", repositories=repos, platforms=())

    a, b, c = ("a", "id-a"), ("b", "id-b"), ("c", "id-c")
    # In the new priority order, then the removed ones in the old order.
    assert inputs(c, a).changes_from(inputs(a, b)) == ["repository c was added", "repository b was removed"]
    assert inputs(b, a).changes_from(inputs(a, b)) == ["repository priority order changed"]


def test_inputs_changes_name_what_changed() -> None:
    old = LockInputs(
        roots=(("app.opam", "h1"), ("lib.opam", "h2")),
        config_hash="c",
        repositories=(("r", "git:1"),),
        platforms=(("linux", (("os", "linux"),)),),
    )
    new = LockInputs(
        roots=(("app.opam", "h1x"), ("cli.opam", "h3")),
        config_hash="c2",
        repositories=(("r", "git:2"),),
        platforms=(("linux", (("os", "linux"), ("x", "y"))),),
    )
    assert new.changes_from(old) == [
        "project opam file app.opam changed",
        "project opam file cli.opam was added",
        "project opam file lib.opam was removed",
        "opamlock.toml changed (repositories, platforms, constraints, pins or solve flags)",
        "repository r changed identity: git:1 -> git:2",
        "platform linux variables changed",
    ]
    assert old.changes_from(old) == []
    assert old.hash() != new.hash()
    assert (
        old.hash()
        == LockInputs(
            roots=tuple(reversed(old.roots)),
            config_hash="c",
            repositories=old.repositories,
            platforms=old.platforms,
        ).hash()
    )


# -- writing ----------------------------------------------------------------------------------


def test_write_if_changed_writes_once(tmp_path: Path) -> None:
    path = tmp_path / "opamlock.lock"
    text = dumps(small_lock())
    assert write_if_changed(path, text) is True
    mtime = path.stat().st_mtime_ns
    assert write_if_changed(path, text) is False
    assert path.stat().st_mtime_ns == mtime
    assert load(path) == small_lock()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opamlock.lock"]


@pytest.mark.parametrize("fail_at", ["fsync", "replace"])
def test_a_failure_mid_write_leaves_the_old_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    path = tmp_path / "opamlock.lock"
    old = dumps(small_lock())
    path.write_text(old)

    def boom(*a: object, **k: object) -> None:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(atomicfile.os, fail_at, boom)
    with pytest.raises(KeyboardInterrupt):
        write_if_changed(path, old.replace("5.9.1", "5.9.2"))
    monkeypatch.undo()
    assert path.read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opamlock.lock"]  # no temp file left


def _writer(path: str, text: str, n: int) -> None:
    for _ in range(n):
        write_if_changed(path, text)
        write_if_changed(path, text + "# x\n")


def test_concurrent_writers_leave_a_whole_lock(tmp_path: Path) -> None:
    path = tmp_path / "opamlock.lock"
    a = dumps(small_lock())
    b = dumps(make_lock((pkg("ocaml", "4.14.2"),)))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), t, 30)) for t in (a, b)]
    for p in procs:
        p.start()
    seen: set[str] = set()
    while any(p.is_alive() for p in procs):
        if path.exists():
            seen.add(path.read_text())
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert seen <= {a, b, a + "# x\n", b + "# x\n"}
    assert loads(path.read_text()) in (small_lock(), make_lock((pkg("ocaml", "4.14.2"),)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opamlock.lock"]


def test_repository_commit_is_written_when_known_and_read_back() -> None:
    pinned = LockedRepository(name="opam-repository", url="../repo", identity="sha256:abc", commit="ab" * 20)
    lock = Lock(inputs_hash="sha256:i", config_hash="sha256:c", repositories=(pinned,), platforms=(LINUX,),
                roots=(), packages=(), source_date_epoch=1787409630)
    text = dumps(lock)
    assert f'identity = "sha256:abc"\ncommit = "{"ab" * 20}"\n' in text
    assert "source-date-epoch = 1787409630\n" in text
    back = loads(text)
    assert back == lock and back.repositories[0].commit == "ab" * 20
    # Unknown commit: no key at all, and a lock without it reads as None.
    assert "commit" not in dumps(make_lock(()))
    assert loads(dumps(make_lock(()))).repositories[0].commit is None
    with pytest.raises(InvalidLock, match=r"repository\[0\]\.commit: expected a string"):
        loads(text.replace(f'commit = "{"ab" * 20}"', "commit = 12"))
