"""``opamlock build`` on the example: frozen repository, offline opam in the sandbox, failures named."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opamlock import lockfile
from opamlock.build import BuildError, OpamHashMismatch, build, parse_build_table, prepare_build_dir
from opamlock.build.frozen import write_frozen_repository
from opamlock.fetch import Store, parse_checksums
from opamlock.sandbox import SandboxError
from tests.buildkit import load_example, need_build_tools, recording_server


def fill_store(store: Store, archives: Path) -> None:
    for f in sorted(archives.iterdir()):
        store.add_file(f, parse_checksums(["sha256=" + hashlib.sha256(f.read_bytes()).hexdigest()]))


@pytest.fixture
def example(tmp_path: Path) -> tuple[Any, lockfile.Lock, Store]:
    ex = load_example().materialise(tmp_path / "example", "http://127.0.0.1:9/unreachable")
    lock = lockfile.loads(load_example().hand_lock_text(ex))
    store = Store(tmp_path / "store")
    fill_store(store, ex.archives)
    return ex, lock, store


def test_build_example_offline(tmp_path: Path, example: tuple[Any, lockfile.Lock, Store]) -> None:
    need_build_tools()
    ex, lock, store = example
    phases: list[str] = []
    user_opam = Path.home() / ".opam"
    had_user_opam = user_opam.exists()
    result = build(lock, project=ex.project, store=store, build_dir=tmp_path / "b", on_phase=phases.append)
    assert result.installed == ("hello-kernel.1.0.0", "hello-support.1.0.0")
    assert phases == [p.name for p in result.phases]
    assert {"opam-init", "opam-install", "project-build"} <= set(phases)
    assert (
        result.artifact is not None and result.artifact.read_bytes()[:4] == b"\x02\xb0\xad\x1b"
    )  # multiboot magic
    assert (result.switch_prefix / "lib" / "hello-support" / "kernel.ld").is_file()
    # opam used the staged cache, never the (unreachable) URLs, and its root is the build's own.
    install_log = (result.logs / "2-opam-install.log").read_text()
    assert "(cached)" in install_log
    assert (result.build_dir / "opam-root" / "config").is_file()
    assert user_opam.exists() == had_user_opam  # ~/.opam never created (nor touched: read-only)
    # The frozen repository holds exactly the locked opam files.
    frozen = sorted(
        p.relative_to(result.build_dir / "frozen-repository").as_posix()
        for p in (result.build_dir / "frozen-repository" / "packages").rglob("opam")
    )
    assert frozen == [
        "packages/hello-kernel/hello-kernel.1.0.0/opam",
        "packages/hello-support/hello-support.1.0.0/opam",
    ]


def test_two_builds_give_the_same_kernel(tmp_path: Path, example: tuple[Any, lockfile.Lock, Store]) -> None:
    need_build_tools()
    ex, lock, store = example
    a = build(lock, project=ex.project, store=store, build_dir=tmp_path / "a")
    b = build(lock, project=ex.project, store=store, build_dir=tmp_path / "b")
    assert a.artifact and b.artifact
    assert a.artifact.read_bytes() == b.artifact.read_bytes()


def test_changed_opam_file_is_refused(tmp_path: Path, example: tuple[Any, lockfile.Lock, Store]) -> None:
    ex, lock, _ = example
    opam = ex.project / "repo" / "packages" / "hello-kernel" / "hello-kernel.1.0.0" / "opam"
    opam.write_text(opam.read_text() + '\nsetenv: [X = "1"]\n')
    with pytest.raises(OpamHashMismatch) as exc:
        write_frozen_repository(lock.packages, {"example": ex.project / "repo"}, tmp_path / "frozen")
    assert "hello-kernel.1.0.0" in exc.value.message and "expected sha256:" in exc.value.message


def test_missing_sources_are_listed(tmp_path: Path, example: tuple[Any, lockfile.Lock, Store]) -> None:
    need_build_tools()
    ex, lock, _ = example
    with pytest.raises(BuildError) as exc:
        build(lock, project=ex.project, store=Store(tmp_path / "empty"), build_dir=tmp_path / "b")
    text = exc.value.render()
    assert "hello-kernel.1.0.0" in text and "hello-support.1.0.0" in text and "opamlock fetch" in text


def test_build_dir_not_ours_is_not_emptied(tmp_path: Path) -> None:
    (tmp_path / "precious").write_text("keep")
    with pytest.raises(BuildError):
        prepare_build_dir(tmp_path)
    assert (tmp_path / "precious").read_text() == "keep"
    fresh = prepare_build_dir(tmp_path / "new")
    (fresh / "old-output").write_text("x")
    assert not (prepare_build_dir(fresh) / "old-output").exists()


def test_build_config_validation() -> None:
    cfg = parse_build_table({"commands": [["make"]], "artifact": "dist/k.bin", "boot-args": ["a"]}, "t")
    assert cfg.project_commands() == (("make",),) and cfg.boot_args == ("a",)
    mirage = parse_build_table({"kind": "mirage", "target": "virtio"}, "t")
    assert mirage.project_commands()[0] == ("mirage", "configure", "-t", "virtio")
    for bad in ({"kind": "cmake"}, {"commands": "make"}, {"artifact": "../../etc/passwd"}, {"monorepo": [1]}):
        with pytest.raises(BuildError):
            parse_build_table(bad, "t")


# -- failing and escaping packages, through opam itself -----------------------------------------


def one_package_lock(tmp_path: Path, build_cmds: str) -> tuple[Path, lockfile.Lock]:
    """A project whose only locked package (no source) runs ``build_cmds``."""
    project = tmp_path / "proj"
    pkg = project / "repo" / "packages" / "probe" / "probe.1.0"
    pkg.mkdir(parents=True)
    (project / "repo" / "repo").write_text('opam-version: "2.0"\n')
    opam = f'opam-version: "2.0"\nsynopsis: "probe"\nbuild: [{build_cmds}]\n'.encode()
    (pkg / "opam").write_bytes(opam)
    (project / "opamlock.toml").write_text("[build]\ncommands = []\n")
    text = (
        'lock-version = 1\ninputs-hash = "sha256:00"\nconfig-hash = "sha256:00"\nsource-date-epoch = 0\n'
        '[[repository]]\nname = "local"\nurl = "repo"\nidentity = "sha256:x"\n'
        '[[platform]]\nname = "p"\nvars = {}\n'
        f'[[package]]\nname = "probe"\nversion = "1.0"\nrepository = "local"\n'
        f'opam-hash = "sha256:{hashlib.sha256(opam).hexdigest()}"\n'
    )
    return project, lockfile.loads(text)


def test_failing_package_is_named_with_log_tail(tmp_path: Path) -> None:
    need_build_tools()
    project, lock = one_package_lock(tmp_path, '["sh" "-c" "echo probe-build-output-marker; exit 3"]')
    with pytest.raises(SandboxError) as exc:
        build(lock, project=project, store=Store(tmp_path / "s"), build_dir=tmp_path / "b")
    assert exc.value.package == "probe.1.0"
    assert "probe-build-output-marker" in exc.value.log_tail
    assert "opam" in exc.value.command[0]
    assert "probe.1.0" in exc.value.render()


@pytest.fixture
def tcp_server() -> Iterator[tuple[int, list[bytes]]]:
    with recording_server() as server:
        yield server


def test_build_step_cannot_reach_localhost_or_write_outside(
    tmp_path: Path, tcp_server: tuple[int, list[bytes]]
) -> None:
    need_build_tools()
    port, got = tcp_server
    outside = Path("/var/tmp") / f"opamlock-build-escape-{port}"
    script = (
        "import socket\\n"
        "try:\\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'escaped')\\n"
        "    print('NET' + '-OPEN')\\n"
        "except OSError as e:\\n"
        "    print('NET' + '-BLOCKED', e)\\n"
        "try:\\n"
        f"    open('{outside}', 'w').write('x')\\n"
        "    print('WRITE' + '-OPEN')\\n"
        "except OSError as e:\\n"
        "    print('WRITE' + '-BLOCKED', e)\\n"
        "raise SystemExit(7)\\n"
    )
    project, lock = one_package_lock(tmp_path, f'["python3" "-c" "{script}"]')
    with pytest.raises(SandboxError) as exc:
        build(lock, project=project, store=Store(tmp_path / "s"), build_dir=tmp_path / "b")
    assert "NET-BLOCKED" in exc.value.log_tail and "NET-OPEN" not in exc.value.log_tail
    assert "WRITE-BLOCKED" in exc.value.log_tail and "Read-only file system" in exc.value.log_tail
    assert got == [] and not outside.exists()


def test_build_steps_get_the_lock_epoch_and_never_the_users_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project lives in the user's HOME (outside /tmp), as it usually does: its build dir is
    bound back into the sandbox, while the rest of the home stays hidden from every step."""
    need_build_tools()
    home = Path(tempfile.mkdtemp(prefix="opamlock-fake-home-", dir="/var/tmp"))
    try:
        (home / ".ssh").mkdir()
        (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
        monkeypatch.setenv("HOME", str(home))
        project, lock = one_package_lock(home, '["sh" "-c" "echo $SOURCE_DATE_EPOCH > %{prefix}%/pkg-epoch"]')
        lock = dataclasses.replace(lock, source_date_epoch=1787409630)
        (project / "opamlock.toml").write_text(
            '[build]\ncommands = [["sh", "-c", "echo $SOURCE_DATE_EPOCH > epoch; '
            f'cat {home}/.ssh/id_ed25519 > leak 2>&1 || true"]]\n'
        )
        result = build(lock, project=project, store=Store(tmp_path / "s"),
                       build_dir=project / "_opamlock" / "build")
        assert (result.switch_prefix / "pkg-epoch").read_text() == "1787409630\n"  # an opam build step
        src = result.build_dir / "src"
        assert (src / "epoch").read_text() == "1787409630\n"  # the project's own step
        leak = (src / "leak").read_text()
        assert "PRIVATE KEY" not in leak and "No such file" in leak
    finally:
        shutil.rmtree(home)
