"""The sandbox is real: no network, read-only host, only the build dir writable, fixed environment."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opamlock import sandbox as sb
from opamlock.sandbox import Sandbox, SandboxError, SandboxUnavailable
from tests.buildkit import need_sandbox, recording_server


@pytest.fixture(scope="module", autouse=True)
def _bwrap_works() -> None:
    need_sandbox()


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    with recording_server() as server:
        yield server


PY_CONNECT = (
    "import socket,sys\n"
    "s=socket.create_connection(('127.0.0.1',int(sys.argv[1])),timeout=3)\n"
    "s.sendall(b'escaped')\n"
)


def test_network_is_unreachable(tmp_path: Path, listener: tuple[int, list[bytes]]) -> None:
    port, got = listener
    box = Sandbox(build_dir=tmp_path)
    # The same program reaches the server outside the sandbox: the test would catch a dead server.
    Sandbox(build_dir=tmp_path, share_net=True).run(
        ["python3", "-c", PY_CONNECT, str(port)], log=tmp_path / "control.log"
    )
    with pytest.raises(SandboxError) as exc:
        box.run(["python3", "-c", PY_CONNECT, str(port)], log=tmp_path / "net.log", package="evil")
    assert exc.value.package == "evil"
    assert "python3" in exc.value.command
    assert "Error" in exc.value.log_tail  # ConnectionRefused / network unreachable traceback
    assert got == [b"escaped"]  # only the control run got through


def test_writing_outside_build_dir_fails(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    # ``outside`` lives under /tmp, which the sandbox replaces; expose it (read-only) like any host
    # directory so the write reaches the real path and is refused by the mount, not by absence.
    box = Sandbox(build_dir=build, ro_paths=(outside,))
    box.run(["ls", str(outside)], log=build / "visible.log")
    for target in (outside / "pwned", Path("/var/tmp") / f"opamlock-pwned-{os.getpid()}"):
        with pytest.raises(SandboxError) as exc:
            box.run(["sh", "-c", f"echo x > {target}"], log=build / "w.log", step="write")
        assert "Read-only file system" in exc.value.log_tail
        assert not target.exists()
        assert exc.value.returncode not in (0, None)


def test_writing_inside_build_dir_works(tmp_path: Path) -> None:
    box = Sandbox(build_dir=tmp_path)
    box.run(["sh", "-c", "echo inside > made.txt; echo tmp > /tmp/t; cat /tmp/t"], log=tmp_path / "ok.log")
    assert (tmp_path / "made.txt").read_text() == "inside\n"
    assert "tmp" in (tmp_path / "ok.log").read_text()


def test_tmp_is_private(tmp_path: Path) -> None:
    marker = Path("/tmp") / f"opamlock-sandbox-marker-{os.getpid()}"
    marker.write_text("host")
    try:
        box = Sandbox(build_dir=tmp_path)
        with pytest.raises(SandboxError):
            box.run(["cat", str(marker)], log=tmp_path / "tmp.log")
    finally:
        marker.unlink()


def test_environment_is_cleared_and_fixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPAMLOCK_SECRET_TEST_VAR", "leak")
    box = Sandbox(build_dir=tmp_path, source_date_epoch=1234567890, env={"EXTRA": "1"})
    box.run(["env"], log=tmp_path / "env.log")
    lines = (tmp_path / "env.log").read_text().splitlines()[1:]  # first line is the command
    env = dict(line.split("=", 1) for line in lines)
    assert "OPAMLOCK_SECRET_TEST_VAR" not in env
    assert env["TZ"] == "UTC"
    assert env["LC_ALL"] == "C.UTF-8"
    assert env["SOURCE_DATE_EPOCH"] == "1234567890"
    assert env["HOME"] == str(tmp_path.resolve() / "home")
    assert env["EXTRA"] == "1"
    assert set(env) == set(box.environment()) | {"PWD"}


def test_timeout_reports_step(tmp_path: Path) -> None:
    box = Sandbox(build_dir=tmp_path)
    with pytest.raises(SandboxError, match="timed out"):
        box.run(["sleep", "30"], log=tmp_path / "slow.log", timeout=0.5)


def test_missing_bwrap_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sb.shutil, "which", lambda _name: None)
    with pytest.raises(SandboxUnavailable) as exc:
        sb.bwrap_path()
    assert "apt-get install bubblewrap" in exc.value.render()


def test_error_render_shows_tail(tmp_path: Path) -> None:
    box = Sandbox(build_dir=tmp_path)
    with pytest.raises(SandboxError) as exc:
        box.run(["sh", "-c", "echo first; echo boom >&2; exit 3"], log=tmp_path / "f.log", package="p")
    text = exc.value.render()
    assert "exit code 3" in text and "boom" in text and "p" in text


# -- the user's home and opam root are hidden ---------------------------------------------------


@pytest.fixture
def fake_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A HOME outside /tmp (which the sandbox replaces anyway), holding a secret."""
    home = Path(tempfile.mkdtemp(prefix="opamlock-fake-home-", dir="/var/tmp"))
    try:
        (home / ".ssh").mkdir()
        (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
        monkeypatch.setenv("HOME", str(home))
        yield home
    finally:
        shutil.rmtree(home)


def _sees(box: Sandbox, path: Path, log: Path) -> bool:
    try:
        box.run(["cat", str(path)], log=log)
    except SandboxError:
        return False
    return True


def test_a_file_in_the_users_home_is_not_readable(tmp_path: Path, fake_home: Path) -> None:
    secret = fake_home / ".ssh" / "id_ed25519"
    beside = Path(tempfile.mkdtemp(prefix="opamlock-not-home-", dir="/var/tmp"))
    try:
        (beside / "public").write_text("visible\n")
        box = Sandbox(build_dir=tmp_path / "b")
        # The control: a host file outside any home is readable (the host is mounted read-only).
        assert _sees(box, beside / "public", tmp_path / "control.log")
        assert not _sees(box, secret, tmp_path / "secret.log")
        assert "No such file" in (tmp_path / "secret.log").read_text()
        assert "PRIVATE KEY" not in (tmp_path / "secret.log").read_text()
        box.run(["ls", "-A", str(fake_home)], log=tmp_path / "ls.log")
        assert (tmp_path / "ls.log").read_text().splitlines()[1:] == []  # an empty folder
    finally:
        shutil.rmtree(beside)


def test_the_system_homes_are_empty_inside(tmp_path: Path) -> None:
    box = Sandbox(build_dir=tmp_path / "b")
    for d in (Path("/root"), Path("/home")):
        if d.is_dir():
            box.run(["ls", "-A", str(d)], log=tmp_path / f"{d.name}.log")
            assert (tmp_path / f"{d.name}.log").read_text().splitlines()[1:] == []


def test_a_build_dir_inside_the_home_is_bound_back(tmp_path: Path, fake_home: Path) -> None:
    build = fake_home / "project" / "_opamlock" / "build"
    build.mkdir(parents=True)
    (build / "input").write_text("in the build\n")
    ro = fake_home / "tools"
    ro.mkdir()
    (ro / "tool").write_text("a tool\n")
    box = Sandbox(build_dir=build, ro_paths=(ro,))
    (fake_home / "project" / "opamlock.toml").write_text("[build]\n")
    box.run(["sh", "-c", "cat input > out"], log=build / "ok.log")
    assert (build / "out").read_text() == "in the build\n"
    assert _sees(box, ro / "tool", build / "ro.log")
    assert not _sees(box, fake_home / ".ssh" / "id_ed25519", build / "secret.log")
    assert not _sees(box, fake_home / "project" / "opamlock.toml", build / "sibling.log")


def test_the_users_opam_root_is_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(tempfile.mkdtemp(prefix="opamlock-fake-opamroot-", dir="/var/tmp"))
    try:
        (root / "config").write_text('opam-version: "2.0"\n')
        monkeypatch.setenv("OPAMROOT", str(root))
        assert not _sees(Sandbox(build_dir=tmp_path / "b"), root / "config", tmp_path / "r.log")
    finally:
        shutil.rmtree(root)


def test_which_paths_are_hidden(tmp_path: Path) -> None:
    home = tmp_path / "h"
    (home / ".opam").mkdir(parents=True)
    build = tmp_path / "build"
    (build / "inner").mkdir(parents=True)
    box = Sandbox(build_dir=build, hidden_paths=(home, home / ".opam", Path("/"), Path("/usr"),
                                                Path("/nonexistent-opamlock"), build / "inner", build))
    # /tmp is already private, so a home under it needs no tmpfs of its own.
    assert box.hidden() == []
    var_home = Path("/var/tmp")
    box = Sandbox(build_dir=build, hidden_paths=(var_home / "x-not-there", Path("/var"), var_home))
    assert box.hidden() == [var_home]
    argv = box.argv(["true"])
    assert argv[argv.index("/var/tmp") - 1] == "--tmpfs"
    assert Sandbox(build_dir=build, hidden_paths=(Path("/root"), Path("/root/.opam"))).hidden() == (
        [Path("/root")] if Path("/root").is_dir() else []
    )
