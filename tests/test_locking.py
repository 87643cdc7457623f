"""The lock workflow on a hand-built universe: platforms, minimal update, upgrades, --check."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from opamlock.env import PlatformVars
from opamlock.errors import OpamlockError
from opamlock.lockfile import dumps, load
from opamlock.locking import LockOptions, OpenedRepository, check_lock, lock_project
from opamlock.package import Package
from opamlock.project import Config, Project, ProjectPackage, RepositorySpec
from opamlock.repository import Repository
from opamlock.solver.solution import SolveError
from opamlock.version import OpamVersion
from tests.lockkit import opam, pkg

LINUX = PlatformVars({"os": "linux", "arch": "x86_64", "os-family": "debian", "opam-version": "2.1.6"})
MACOS = PlatformVars({"os": "macos", "arch": "arm64", "os-family": "homebrew", "opam-version": "2.1.6"})


def universe(newer: bool = False) -> list[Package]:
    pk = [
        pkg("ocaml", "4.14.0"),
        pkg("ocaml", "5.1.0"),
        pkg(
            "dune",
            "3.0",
            [("ocaml", None)],
            url="https://example.org/dune-3.0.tbz",
            build=[["dune", "build", "-p", "%name", "@runtest", "{with-test}"]],
        ),
        pkg(
            "lib-a",
            "1.0",
            [("ocaml", None), ("dune", "build")],
            url="https://example.org/lib-a-1.0.tbz",
            depexts=[("libfoo-dev", 'os-family = "debian"')],
        ),
        pkg("lib-b", "1.0", [("lib-a", None), ("dune", "build")], url="https://example.org/lib-b-1.0.tbz"),
        pkg("alcotest", "1.0", [("dune", "build")]),
        pkg("only-mac", "1.0", [("dune", "build")]),
    ]
    if newer:
        pk += [
            pkg(
                "lib-a",
                "2.0",
                [("ocaml", '>= "5.0"'), ("dune", "build")],
                url="https://example.org/lib-a-2.0.tbz",
                depexts=[("libfoo-dev", 'os-family = "debian"')],
            ),
            pkg("lib-b", "1.1", [("lib-a", None), ("dune", "build")]),
            pkg("dune", "3.1", [("ocaml", None)]),
        ]
    return pk


def repos(packages: list[Package]) -> list[OpenedRepository]:
    identity = "sha256:" + hashlib.sha256(repr(sorted(p.nv for p in packages)).encode()).hexdigest()
    return [OpenedRepository("toy", "repo", identity, Repository.from_packages(packages, name="toy"))]


APP_DEPS = [
    ("lib-b", None),
    ("lib-a", '>= "1.0"'),
    ("alcotest", "with-test"),
    ("only-mac", 'os = "macos"'),
    ("dune", "build"),
]


def project(
    root: Path,
    *,
    deps: list[tuple[str, str | None]] | None = None,
    with_test: bool = False,
    pins: tuple[tuple[str, str], ...] = (),
    platforms: tuple[PlatformVars, ...] = (LINUX, MACOS),
    constraints: tuple[str, ...] = (),
) -> Project:
    from opamlock.formula import parse_atom

    tree = opam(APP_DEPS if deps is None else deps)
    digest = "sha256:" + hashlib.sha256(repr(tree).encode()).hexdigest()
    app = ProjectPackage(
        name="app",
        version="dev",
        opam_file="app.opam",
        opam_hash=digest,
        package=Package("app", OpamVersion("dev"), tree, opam_hash=digest),
    )
    config = Config(
        repositories=(RepositorySpec(name="toy", path="repo"),),
        platforms=platforms,
        with_test=with_test,
        pins=pins,
        constraints=tuple(parse_atom(c) for c in constraints),
        constraint_texts=constraints,
    )
    return Project(root=root, config=config, packages=(app,))


def test_lock_records_roots_platforms_commands_and_edges(tmp_path: Path) -> None:
    res = lock_project(project(tmp_path), repositories=repos(universe()))
    lock = res.lock
    assert res.changed and load(tmp_path / "opamlock.lock") == lock
    assert lock.platform_names == ("linux-x86_64", "macos-arm64")
    assert lock.versions("linux-x86_64") == {"ocaml": "5.1.0", "dune": "3.0", "lib-a": "1.0", "lib-b": "1.0"}
    assert lock.versions("macos-arm64") == {**lock.versions("linux-x86_64"), "only-mac": "1.0"}
    (root,) = lock.roots_for("macos-arm64")
    assert {(d.name, d.kind) for d in root.depends} == {
        ("lib-b", "runtime"),
        ("lib-a", "runtime"),
        ("only-mac", "runtime"),
        ("dune", "build"),
    }
    # depexts differ by platform, so lib-a has one record per platform; lib-b is shared.
    lib_a = [p for p in lock.packages if p.name == "lib-a"]
    assert [(p.platforms, p.depexts) for p in lib_a] == [
        (("linux-x86_64",), ("libfoo-dev",)),
        (("macos-arm64",), ()),
    ]
    (lib_b,) = [p for p in lock.packages if p.name == "lib-b"]
    assert lib_b.platforms == () and lib_b.source is not None
    assert lib_b.source.url == "https://example.org/lib-b-1.0.tbz" and lib_b.source.checksums[0].startswith(
        "sha256="
    )
    assert {(d.name, d.kind) for d in lib_b.depends} == {("lib-a", "runtime"), ("dune", "build")}
    (dune,) = [p for p in lock.packages if p.name == "dune"]
    assert dune.build == (("dune", "build", "-p", "%{name}%"),)  # @runtest {with-test} filtered out
    assert lock.repositories[0].url == "repo"  # the project-relative path, never absolute
    assert str(tmp_path) not in res.text


def test_with_test_applies_to_roots_only(tmp_path: Path) -> None:
    lock = lock_project(project(tmp_path, with_test=True), repositories=repos(universe())).lock
    assert "alcotest" in lock.versions("linux-x86_64")
    (dune,) = {p for p in lock.packages if p.name == "dune"}
    assert dune.build == (("dune", "build", "-p", "%{name}%"),)  # not a root: no @runtest


def test_relock_is_byte_identical_and_not_rewritten(tmp_path: Path) -> None:
    first = lock_project(project(tmp_path), repositories=repos(universe()))
    mtime = (tmp_path / "opamlock.lock").stat().st_mtime_ns
    again = lock_project(project(tmp_path), repositories=repos(list(reversed(universe()))))
    assert again.text == first.text and not again.changed
    assert (tmp_path / "opamlock.lock").stat().st_mtime_ns == mtime


def test_minimal_update_keeps_locked_versions(tmp_path: Path) -> None:
    old = lock_project(project(tmp_path), repositories=repos(universe())).lock
    res = lock_project(project(tmp_path), repositories=repos(universe(newer=True)))
    kept = res.lock
    assert kept.versions("linux-x86_64")["lib-a"] == "1.0"
    assert kept.versions("linux-x86_64")["lib-b"] == "1.0"
    assert kept.versions("linux-x86_64")["dune"] == "3.0"
    # The repository identity changed, so the lock was rewritten (new inputs hash), versions kept.
    assert res.changed and kept.inputs_hash != old.inputs_hash
    assert kept.repositories[0].identity != old.repositories[0].identity
    assert kept.packages == old.packages


def test_upgrade_package_resolves_it_and_what_it_needs(tmp_path: Path) -> None:
    lock_project(project(tmp_path), repositories=repos(universe()))
    up = lock_project(
        project(tmp_path), LockOptions(upgrade_packages=("lib-a",)), repositories=repos(universe(newer=True))
    ).lock.versions("linux-x86_64")
    assert up["lib-a"] == "2.0"  # lib-a and its needs (dune, ocaml) are free again
    assert up["lib-b"] == "1.0"  # lib-b stays as locked
    allup = lock_project(
        project(tmp_path), LockOptions(upgrade=True), repositories=repos(universe(newer=True))
    ).lock.versions("linux-x86_64")
    assert (allup["lib-a"], allup["lib-b"], allup["dune"]) == ("2.0", "1.1", "3.1")
    with pytest.raises(OpamlockError, match="--upgrade-package nosuch"):
        lock_project(
            project(tmp_path), LockOptions(upgrade_packages=("nosuch",)), repositories=repos(universe())
        )


def test_pins_and_constraints_narrow_versions(tmp_path: Path) -> None:
    pinned = lock_project(
        project(tmp_path, pins=(("ocaml", "4.14.0"),)), repositories=repos(universe(newer=True))
    ).lock.versions("linux-x86_64")
    assert pinned["ocaml"] == "4.14.0" and pinned["lib-a"] == "1.0"  # lib-a 2.0 needs ocaml >= 5
    with pytest.raises(SolveError):
        lock_project(project(tmp_path, constraints=("ocaml<4",)), repositories=repos(universe()))
    # A constraint on a package nobody needs does not pull it in.
    v = lock_project(
        project(tmp_path, constraints=("nosuch>=1",), platforms=(LINUX,)), repositories=repos(universe())
    ).lock.versions()
    assert "nosuch" not in v


def test_check_names_the_input_that_changed(tmp_path: Path) -> None:
    assert check_lock(project(tmp_path), repositories=repos(universe())).reasons == (
        "opamlock.lock is missing",
    )
    lock_project(project(tmp_path), repositories=repos(universe()))
    fresh = check_lock(project(tmp_path), repositories=repos(universe()))
    assert fresh.fresh and fresh.reasons == ()
    stale = check_lock(project(tmp_path, deps=[("lib-b", None)]), repositories=repos(universe()))
    assert not stale.fresh and stale.reasons == ("project opam file app.opam changed",)
    stale = check_lock(project(tmp_path), repositories=repos(universe(newer=True)))
    assert len(stale.reasons) == 1 and stale.reasons[0].startswith("repository toy changed identity: sha256:")
    stale = check_lock(project(tmp_path, with_test=True), repositories=repos(universe()))
    assert stale.reasons[0].startswith("opamlock.toml changed")
    stale = check_lock(
        project(tmp_path), LockOptions(var_overrides={"os-version": "13"}), repositories=repos(universe())
    )
    assert stale.reasons == (
        "platform linux-x86_64 variables changed",
        "platform macos-arm64 variables changed",
    )


def repos_at(packages: list[Package], commit: str | None, commit_time: int | None) -> list[OpenedRepository]:
    """``repos(packages)`` as loaded from a ``git archive`` of ``commit`` (same content, same identity)."""
    out = repos(packages)
    out[0].repository.commit, out[0].repository.commit_time = commit, commit_time
    return out


def test_lock_records_repository_commits_and_the_newest_commit_time(tmp_path: Path) -> None:
    plain = lock_project(project(tmp_path), repositories=repos(universe())).lock
    assert plain.source_date_epoch == 0 and plain.repositories[0].commit is None
    res = lock_project(project(tmp_path), repositories=repos_at(universe(), "ab" * 20, 1_700_000_000))
    assert res.changed and res.lock.packages == plain.packages and res.lock.inputs_hash == plain.inputs_hash
    assert res.lock.source_date_epoch == 1_700_000_000 and res.lock.repositories[0].commit == "ab" * 20
    assert load(tmp_path / "opamlock.lock") == res.lock
    # Several repositories: the newest commit time wins; one without a time does not count.
    two = [*repos_at(universe(), "ab" * 20, 1_700_000_000),
           OpenedRepository("other", "other", "sha256:00", Repository.from_packages([], name="other"))]
    two[1].repository.commit_time = 1_800_000_000
    assert lock_project(project(tmp_path), repositories=two).lock.source_date_epoch == 1_800_000_000
    two[1].repository.commit_time = None
    assert lock_project(project(tmp_path), repositories=two).lock.source_date_epoch == 1_700_000_000


def test_check_notices_the_same_content_from_another_commit(tmp_path: Path) -> None:
    lock_project(project(tmp_path), repositories=repos_at(universe(), "ab" * 20, 1_700_000_000))
    assert check_lock(project(tmp_path), repositories=repos_at(universe(), "ab" * 20, 1_700_000_000)).fresh
    stale = check_lock(project(tmp_path), repositories=repos_at(universe(), "cd" * 20, 1_700_000_100))
    assert stale.reasons == (f"repository toy changed commit: {'ab' * 20} -> {'cd' * 20}",)
    stale = check_lock(project(tmp_path), repositories=repos(universe()))
    assert stale.reasons == (f"repository toy changed commit: {'ab' * 20} -> (unknown)",)
    stale = check_lock(project(tmp_path), repositories=repos_at(universe(), "ab" * 20, 1_700_000_001))
    assert stale.reasons == ("source-date-epoch changed: 1700000000 -> 1700000001",)


def test_check_notices_a_hand_edited_lock(tmp_path: Path) -> None:
    lock = lock_project(project(tmp_path), repositories=repos(universe())).lock
    path = tmp_path / "opamlock.lock"
    text = path.read_text()
    edited = text.replace(lock.roots[0].opam_hash, "sha256:" + "0" * 64)
    path.write_text(edited)
    stale = check_lock(project(tmp_path), repositories=repos(universe()))
    assert not stale.fresh and any("edited by hand" in r for r in stale.reasons)


def test_an_unreadable_previous_lock_is_replaced_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "opamlock.lock").write_text("lock-version = 'what'\n")
    res = lock_project(project(tmp_path), repositories=repos(universe()))
    assert res.changed and res.notes and "cannot be read" in res.notes[0]
    assert dumps(load(tmp_path / "opamlock.lock")) == res.text
