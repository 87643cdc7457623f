"""Platform variables as ``OpamSysPoll`` computes them, and the solver's variable mappings."""

from __future__ import annotations

import pytest

from opamlock.env import (
    DEFAULT_OPAM_VERSION,
    PlatformVars,
    SolveFlags,
    conflicts_env,
    detect_platform,
    env_from_os_environ,
    host_platform,
    normalise_arch,
    normalise_os,
    package_env,
    parse_var_assignments,
)
from opamlock.errors import UsageError

DEBIAN = {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}
UBUNTU = {"ID": "ubuntu", "ID_LIKE": "debian", "VERSION_ID": "22.04"}
ROCKY = {"ID": "rocky", "ID_LIKE": "rhel centos fedora", "VERSION_ID": "9.3"}
ARCH = {"ID": "arch"}


@pytest.mark.parametrize(
    ("raw", "arch"),
    [("x86_64", "x86_64"), ("AMD64", "x86_64"), ("i686", "x86_32"), ("i386", "x86_32"), ("x86", "x86_32"),
     ("aarch64", "arm64"), ("arm64", "arm64"), ("armv7l", "arm32"), ("armv6l", "arm32"), ("armv8l", "arm32"),
     ("ppc64le", "ppc64"), ("ppc", "ppc32"), ("s390x", "s390x"), ("riscv64", "riscv64")],
)
def test_normalise_arch(raw: str, arch: str) -> None:
    assert normalise_arch(raw) == arch


@pytest.mark.parametrize(
    ("raw", "os"),
    [("Linux", "linux"), ("Darwin", "macos"), ("FreeBSD", "freebsd"), ("OpenBSD", "openbsd"),
     ("Windows", "win32"), ("CYGWIN_NT-10.0", "cygwin")],
)
def test_normalise_os(raw: str, os: str) -> None:
    assert normalise_os(raw) == os


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (dict(system="Linux", machine="x86_64", os_release=DEBIAN, lsb_release="12"),
         {"arch": "x86_64", "os": "linux", "os-distribution": "debian", "os-family": "debian",
          "os-version": "12"}),
        (dict(system="Linux", machine="x86_64", os_release=UBUNTU),
         {"os-distribution": "ubuntu", "os-family": "debian", "os-version": "22.04"}),
        (dict(system="Linux", machine="aarch64", os_release=ROCKY),
         {"arch": "arm64", "os-distribution": "rocky", "os-family": "rhel", "os-version": "9.3"}),
        # lsb_release is asked before VERSION_ID, as opam does
        (dict(system="Linux", machine="x86_64", os_release=ARCH, lsb_release="rolling"),
         {"os-distribution": "arch", "os-family": "arch", "os-version": "rolling"}),
        (dict(system="Linux", machine="x86_64", os_release={}, lsb_id="Gentoo"),
         {"os-distribution": "gentoo", "os-family": "gentoo"}),
        (dict(system="Linux", machine="x86_64"), {"os-distribution": "linux", "os-family": "linux"}),
        (dict(system="Darwin", machine="arm64", macos_version="14.4", has_brew=True),
         {"os": "macos", "arch": "arm64", "os-distribution": "homebrew", "os-family": "homebrew",
          "os-version": "14.4"}),
        (dict(system="Darwin", machine="x86_64", has_port=True),
         {"os-distribution": "macports", "os-family": "macports"}),
        (dict(system="Darwin", machine="x86_64"), {"os-distribution": "macos", "os-family": "macos"}),
        (dict(system="FreeBSD", machine="amd64", release="1400097"),
         {"os": "freebsd", "os-distribution": "freebsd", "os-family": "bsd", "os-version": "1400097"}),
        (dict(system="Windows", machine="AMD64", release="10"),
         {"os": "win32", "os-family": "windows", "arch": "x86_64"}),
    ],
)
def test_detect_platform(kwargs: dict[str, object], expected: dict[str, str]) -> None:
    pv = detect_platform(**kwargs)  # type: ignore[arg-type]
    assert {k: pv.vars[k] for k in expected} == expected
    assert pv.vars["opam-version"] == DEFAULT_OPAM_VERSION
    assert pv.name == f"{pv.vars['os']}-{pv.vars['arch']}"


def test_detect_platform_leaves_unknown_variables_undefined() -> None:
    pv = detect_platform(system="Linux", machine="x86_64", os_release={"ID": "debian"})
    assert "os-version" not in pv.vars
    pv = detect_platform(system="", machine="")
    assert set(pv.vars) == {"opam-version"}
    assert pv.name == "any-any"


def test_host_platform_shape() -> None:
    pv = host_platform(opam_version="2.1.2")
    assert pv.vars["opam-version"] == "2.1.2"
    for key in ("arch", "os", "os-distribution", "os-family"):
        assert pv.vars[key] and pv.vars[key] == pv.vars[key].lower(), key
    assert pv.name == f"{pv.vars['os']}-{pv.vars['arch']}"
    assert pv.as_dict() == dict(sorted(pv.vars.items()))


def test_with_overrides_renames_only_when_os_or_arch_change() -> None:
    pv = PlatformVars({"os": "linux", "arch": "x86_64"}, name="ci")
    assert pv.with_overrides({"os-version": "13"}).name == "ci"
    assert pv.with_overrides({"os": "macos"}).name == "macos-x86_64"


def test_parse_var_assignments() -> None:
    assert parse_var_assignments(["os=macos", " arch = arm64 ", "empty=", "foo:installed=true"]) == {
        "os": "macos", "arch": "arm64", "empty": "", "foo:installed": "true"}


@pytest.mark.parametrize("bad", ["os", "=linux", "1os=linux", "o s=linux", ""])
def test_parse_var_assignments_errors(bad: str) -> None:
    with pytest.raises(UsageError) as e:
        parse_var_assignments([bad])
    assert repr(bad) in e.value.message
    assert e.value.hint and "--var NAME=VALUE" in e.value.hint


@pytest.mark.parametrize("bad", ["os=", "arch= "])
def test_platform_naming_variables_cannot_be_empty(bad: str) -> None:
    with pytest.raises(UsageError) as e:
        parse_var_assignments([bad])
    assert "cannot be empty" in e.value.message
    assert e.value.hint and "--var" in e.value.hint


def test_package_env_flags_apply_to_roots_only() -> None:
    pv = PlatformVars({"os": "linux", "arch": "x86_64"})
    flags = SolveFlags(with_test=True, with_doc=True)
    root = package_env(pv, "foo", "1.0", root=True, flags=flags)
    dep = package_env(pv, "bar", "2.0", root=False, flags=flags)
    assert (root["with-test"], root["with-doc"], root["with-dev-setup"]) == (True, True, False)
    assert (dep["with-test"], dep["with-doc"]) == (False, False)
    assert root["build"] is True and root["post"] is True and root["dev"] is False
    got = (root["name"], root["version"], root["_:version"], root["foo:version"])
    assert got == ("foo", "1.0", "1.0", "1.0")
    assert "bar:version" not in root


def test_conflicts_env_has_no_solving_flags() -> None:
    env = conflicts_env(PlatformVars({"os": "linux"}), "foo", "1.0")
    for var in ("build", "post", "with-test", "with-doc", "with-dev-setup", "dev"):
        assert var not in env
    assert env["os"] == "linux" and env["version"] == "1.0"


def test_env_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPAMVAR_os_family", "debian")
    monkeypatch.setenv("OPAMVAR_arch", "arm64")
    got = env_from_os_environ()
    assert got["os-family"] == "debian" and got["arch"] == "arm64"
