"""The package model: opam file fields read as ``OpamFile.OPAM`` reads them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from opamlock.env import PlatformVars, SolveFlags, conflicts_env, detect_platform, package_env
from opamlock.formula import Or
from opamlock.opamfile import ast
from opamlock.package import Command, ExtraSource, InvalidPackage, Package, Url
from opamlock.version import OpamVersion

S, I, L = ast.String, ast.Ident, ast.List  # noqa: E741


def VAR(name: str, value: ast.Value) -> ast.Variable:
    return ast.Variable(name, value)


def OPT(v: ast.Value, *args: ast.Value) -> ast.Option:
    return ast.Option(v, list(args))


def REL(op: str, a: ast.Value, b: ast.Value) -> ast.Relop:
    return ast.Relop(op, a, b)  # type: ignore[arg-type]


def pkg(*items: ast.Item, name: str = "foo", version: str = "1.0") -> Package:
    return Package(name, OpamVersion(version), ast.OpamFile(list(items), filename=f"{name}.{version}/opam"))


LINUX: dict[str, str | bool] = {
    "os": "linux", "arch": "x86_64", "os-family": "debian", "os-distribution": "debian",
    "name": "foo", "version": "1.0", "jobs": "4",
}


# --------------------------------------------------------------------------------------------
# identity


def test_identity_is_name_and_version_order() -> None:
    a = pkg(name="ocaml-variants", version="5.5.0+introcaml")
    b = pkg(name="ocaml-variants", version="5.5.0+introcaml0")
    assert a == b and hash(a) == hash(b)
    assert a.nv == "ocaml-variants.5.5.0+introcaml" and b.nv == "ocaml-variants.5.5.0+introcaml0"
    assert pkg(name="x") != pkg(name="y")
    assert repr(a) == "<Package ocaml-variants.5.5.0+introcaml>"


def test_last_field_wins() -> None:
    p = pkg(VAR("synopsis", S("one")), VAR("synopsis", S("two")))
    assert p.text_field("synopsis") == "two"
    assert p.text_field("missing") is None


# --------------------------------------------------------------------------------------------
# flags


def test_flags_and_avoid() -> None:
    p = pkg(VAR("flags", L([I("compiler"), I("avoid-version")])))
    assert p.flags == frozenset({"compiler", "avoid-version"})
    assert p.avoid
    assert pkg(VAR("flags", I("deprecated"))).avoid  # a single flag without brackets
    assert pkg(VAR("flags", L([I("conf")]))).flags == frozenset({"conf"})
    assert not pkg(VAR("flags", L([I("conf")]))).avoid
    assert pkg().flags == frozenset()


def test_legacy_flags_in_tags() -> None:
    p = pkg(VAR("tags", L([S("org:mirage"), S("flags:light-uninstall"), S("flags:avoid-version")])))
    assert p.flags == frozenset({"light-uninstall", "avoid-version"})
    assert p.avoid
    assert pkg(VAR("tags", S("flags:conf"))).flags == frozenset({"conf"})


def test_bad_flags_shape_is_a_located_package_error() -> None:
    p = pkg(VAR("flags", L([L([I("x")], pos=(4, 9))])))
    with pytest.raises(InvalidPackage, match=r"foo.1.0/opam:4:9"):
        _ = p.flags


def test_conflict_class() -> None:
    assert pkg(VAR("conflict-class", S("ocaml-core-compiler"))).conflict_class == ("ocaml-core-compiler",)
    assert pkg(VAR("conflict-class", L([S("a"), S("b")]))).conflict_class == ("a", "b")
    assert pkg().conflict_class == ()


# --------------------------------------------------------------------------------------------
# sources


def test_url_section() -> None:
    sec = ast.Section("url", None, [
        VAR("src", S("https://example.org/foo-1.0.tbz")),
        VAR("checksum", L([S("sha256=ab"), S("sha512=cd")])),
        VAR("mirrors", S("https://mirror.example/foo-1.0.tbz")),
    ])
    assert pkg(sec).url == Url("https://example.org/foo-1.0.tbz", ("sha256=ab", "sha512=cd"),
                               ("https://mirror.example/foo-1.0.tbz",))


@pytest.mark.parametrize("key", ["archive", "http", "git", "hg", "darcs", "local"])
def test_url_older_source_keys(key: str) -> None:
    sec = ast.Section("url", None, [VAR(key, S("x://y")), VAR("checksum", S("md5=00"))])
    assert pkg(sec).url == Url("x://y", ("md5=00",))


def test_no_url() -> None:
    assert pkg().url is None
    assert pkg(ast.Section("url", None, [VAR("checksum", S("md5=00"))])).url is None


def test_extra_sources_sorted_by_name() -> None:
    p = pkg(
        ast.Section("extra-source", "z.patch",
                    [VAR("src", S("https://e/z")), VAR("checksum", S("sha256=1"))]),
        ast.Section("extra-source", "a.patch",
                    [VAR("src", S("https://e/a")), VAR("checksum", L([S("md5=2")]))]),
    )
    assert p.extra_sources == (
        ExtraSource("a.patch", "https://e/a", ("md5=2",)),
        ExtraSource("z.patch", "https://e/z", ("sha256=1",)),
    )


# --------------------------------------------------------------------------------------------
# commands


def test_commands_with_filters_on_commands_and_arguments() -> None:
    build = L([
        OPT(L([S("dune"), S("subst")]), I("dev")),
        L([S("dune"), S("build"), S("-p"), I("name"), S("-j"), I("jobs"),
           OPT(S("@runtest"), I("with-test")), OPT(S("@doc"), I("with-doc"))]),
        OPT(L([S("make"), S("macos-only")]), REL("=", I("os"), S("macos"))),
        OPT(L([S("never")]), I("undefined-var")),
    ])
    p = pkg(VAR("build", build))
    env = {**LINUX, "dev": False, "with-test": True, "with-doc": False}
    assert p.commands("build", env) == (
        Command(("dune", "build", "-p", "%{name}%", "-j", "%{jobs}%", "@runtest")),
    )
    env2 = {**env, "dev": True, "os": "macos"}
    assert [c.args[:2] for c in p.commands("build", env2)] == [
        ("dune", "subst"), ("dune", "build"), ("make", "macos-only")]


def test_single_command_without_outer_list() -> None:
    p = pkg(VAR("install", L([S("make"), S("install"), OPT(S("PREFIX=%{prefix}%"), I("build"))])))
    assert p.commands("install", {"build": True}) == (Command(("make", "install", "PREFIX=%{prefix}%")),)


def test_command_whose_arguments_are_all_filtered_out_is_dropped() -> None:
    p = pkg(VAR("build", L([L([OPT(S("x"), I("with-test"))]), L([S("y")])])))
    assert p.commands("build", {"with-test": False}) == (Command(("y",)),)
    assert pkg().commands("build", LINUX) == ()


def test_filtered_single_command_at_top_level() -> None:
    p = pkg(VAR("build", OPT(L([S("make")]), REL("=", I("os"), S("linux")))))
    assert p.commands("build", LINUX) == (Command(("make",)),)
    assert p.commands("build", {**LINUX, "os": "macos"}) == ()


# --------------------------------------------------------------------------------------------
# depexts


def test_depexts_opam20_form() -> None:
    depexts = L([
        OPT(L([S("libgmp-dev")]), REL("=", I("os-family"), S("debian"))),
        OPT(L([S("gmp")]), REL("=", I("os"), S("macos"))),
        OPT(L([S("epel-release"), S("gmp-devel")]), REL("=", I("os-distribution"), S("centos"))),
        OPT(L([S("gmp-undefined")]), REL("=", I("undefined-var"), S("x"))),
        L([S("always")]),
    ])
    p = pkg(VAR("depexts", depexts))
    assert p.depexts(LINUX) == ("always", "libgmp-dev")
    assert p.depexts({**LINUX, "os": "macos", "os-family": "homebrew"}) == ("always", "gmp")
    assert p.depexts({**LINUX, "os-family": "rhel", "os-distribution": "centos"}) == (
        "always", "epel-release", "gmp-devel")


def test_depexts_string_form() -> None:
    # `"pkg" {filter}` items: opam's own reader rejects them; opamlock accepts them.
    p = pkg(VAR("depexts", L([OPT(S("libev-dev"), REL("=", I("os-family"), S("debian"))),
                              OPT(S("libev"), REL("=", I("os"), S("macos")))])))
    assert p.depexts(LINUX) == ("libev-dev",)


def test_depexts_single_filtered_list() -> None:
    # `depexts: ["linux-headers"] {os-family = "alpine"}`, frequent in the repository.
    p = pkg(VAR("depexts", OPT(L([S("linux-headers")]), REL("=", I("os-family"), S("alpine")))))
    assert p.depexts(LINUX) == ()
    assert p.depexts({**LINUX, "os-family": "alpine"}) == ("linux-headers",)


# --------------------------------------------------------------------------------------------
# available


def test_available() -> None:
    assert pkg().available(LINUX)
    linux_only = pkg(VAR("available", REL("=", I("os"), S("linux"))))
    assert linux_only.available(LINUX)
    assert not linux_only.available({**LINUX, "os": "macos"})
    # Undefined means unavailable.
    assert not linux_only.available({"arch": "x86_64"})
    assert not pkg(VAR("available", I("undefined-var"))).available(LINUX)
    assert pkg(VAR("available", ast.Pfxop("!", ast.Relop("=", I("arch"), S("arm32"))))).available(LINUX)
    # opam 1.2's list form
    assert pkg(VAR("available", L([REL(">=", I("version"), S("1"))]))).available(LINUX)


# --------------------------------------------------------------------------------------------
# formulas


def test_formulas_are_memoised_and_conflicts_disjunctive() -> None:
    p = pkg(VAR("depends", L([S("a"), S("b")])), VAR("conflicts", L([S("c"), S("d")])))
    assert p.depends_formula() is p.depends_formula()
    r = p.conflicts_formula().resolve(LINUX)
    assert isinstance(r, Or)
    assert p.depopts_formula().is_empty()


# --------------------------------------------------------------------------------------------
# the real repository (corpus)


def _corpus_packages(snapshot_dir: Path) -> list[Package]:
    from opamlock.opamfile import parse  # the parser is another module's concern; imported late

    out = []
    for f in sorted((snapshot_dir / "packages").glob("*/*/opam")):
        name, _, version = f.parent.name.partition(".")
        out.append(Package(name, OpamVersion(version), parse(f.read_text(encoding="utf-8"), str(f))))
    return out


@pytest.fixture(scope="module")
def corpus(snapshot_dir: Path) -> list[Package]:
    return _corpus_packages(snapshot_dir)


DEBIAN12 = detect_platform(system="Linux", machine="x86_64", os_release={"ID": "debian", "VERSION_ID": "12"},
                           opam_version="2.1.2")


@pytest.mark.corpus
@pytest.mark.slow
def test_every_corpus_package_converts_and_evaluates(corpus: list[Package]) -> None:
    assert len(corpus) == 18_793
    available = 0
    for p in corpus:
        env = package_env(DEBIAN12, p.name, str(p.version), root=True, flags=SolveFlags(True, True, True))
        for formula in (p.depends_formula(), p.depopts_formula(), p.conflicts_formula()):
            formula.resolve(env)
        p.conflicts_formula().resolve(conflicts_env(DEBIAN12, p.name, str(p.version)))
        available += p.available(env)
        for field in ("build", "install", "run-test", "remove"):
            for cmd in p.commands(field, env):
                assert cmd.args and all(isinstance(a, str) for a in cmd.args)
        p.depexts(env)
        _ = (p.flags, p.url, p.extra_sources, p.conflict_class)
    # Measured on the 2026-08-22 snapshot: 305 versions are unavailable on Debian 12 / x86_64
    # (without the sys-ocaml-* variables, so every ocaml-system is unavailable too).
    assert available == 18_488


def _opam_global_vars(opam_env: dict[str, str]) -> dict[str, str]:
    # opam wraps the table to the terminal width (long root paths wrap in narrow ones).
    out = subprocess.run(
        ["opam", "var", "--global"], env={**opam_env, "COLUMNS": "10000"},
        capture_output=True, text=True, check=True,
    )
    found: dict[str, str] = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^(\S+)\s+(.*?)\s*#", line)
        if m:
            found[m.group(1)] = m.group(2)
    assert {"os", "arch", "opam-version"} <= set(found), out.stdout
    return found


@pytest.mark.corpus
@pytest.mark.oracle
@pytest.mark.slow
def test_available_set_matches_opam(
    corpus: list[Package], opam_env: dict[str, str], opam_root: Path, tmp_path: Path
) -> None:
    """``available`` on this machine agrees with ``opam list --available``, version for version.

    opam runs on a private copy of the shared root, so that other tests' opam processes cannot
    change its answer, and with depexts ignored (opam 2.1 also hides packages whose system
    packages are missing, which is not what ``available`` means).
    """
    root = tmp_path / "root"
    shutil.copytree(opam_root, root, symlinks=True)
    opam_env = {**opam_env, "OPAMROOT": str(root), "OPAMNODEPEXTS": "1"}
    opam_vars = _opam_global_vars(opam_env)
    ours = {
        p.nv for p in corpus
        if p.available(conflicts_env(PlatformVars(opam_vars), p.name, str(p.version)))
    }
    listing = subprocess.run(
        ["opam", "list", "-A", "--available", "--all-versions", "--short"],
        env=opam_env, capture_output=True, text=True, check=True,
    ).stdout.split()
    theirs = set(listing)
    assert len(theirs) > 18_000, f"opam listed only {len(theirs)} versions; global variables: {opam_vars}"
    # opam lists one of two versions that compare equal (5.5.0+introcaml / 5.5.0+introcaml0).
    assert {nv for nv in ours - theirs if not nv.startswith("ocaml-variants.5.5.0+introcaml")} == set()
    assert theirs - ours == set()


# --------------------------------------------------------------------------------------------
# from opam text


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "model"


@pytest.fixture(scope="module")
def kitchen_sink() -> Package:
    try:
        from opamlock.opamfile import parse
    except ImportError:  # pragma: no cover - only while the parser is being written
        pytest.skip("opamlock.opamfile.parse is not available")
    path = FIXTURES / "kitchen-sink.opam"
    return Package("kitchen-sink", OpamVersion("1.0"), parse(path.read_text(encoding="utf-8"), str(path)))


def test_text_static_fields(kitchen_sink: Package) -> None:
    p = kitchen_sink
    assert p.flags == frozenset({"compiler", "avoid-version", "conf"}) and p.avoid
    assert p.conflict_class == ("ocaml-core-compiler",)
    assert p.url is not None and p.url.src == "https://example.org/kitchen-sink-1.0.tbz"
    assert [c.split("=")[0] for c in p.url.checksums] == ["sha256", "md5"]
    assert p.url.mirrors == ("https://mirror.example.org/kitchen-sink-1.0.tbz",)
    assert [e.name for e in p.extra_sources] == ["fix-build.patch"]


def test_text_depends_when_solving(kitchen_sink: Package) -> None:
    env = package_env(DEBIAN12, "kitchen-sink", "1.0", root=True)
    assert str(kitchen_sink.depends_formula().resolve(env)) == (
        'ocaml {>= "4.08" & < "5.3"} & dune {>= "3.0"} & kitchen-sink-lib {= "1.0"} & async'
        ' & gmp & old {< "1" | >= "2"}'
    )
    with_test = package_env(DEBIAN12, "kitchen-sink", "1.0", root=True, flags=SolveFlags(with_test=True))
    resolved = str(kitchen_sink.depends_formula().resolve(with_test))
    assert "(lwt | async)" in resolved and 'ppx_inline_test {!= "v0.15.0"}' in resolved
    mac = package_env(DEBIAN12.with_overrides({"os": "macos"}), "kitchen-sink", "1.0")
    assert 'gmp {= "disabled"}' in str(kitchen_sink.depends_formula().resolve(mac))


def test_text_conflicts_available_depexts_commands(kitchen_sink: Package) -> None:
    p = kitchen_sink
    cenv = conflicts_env(DEBIAN12, "kitchen-sink", "1.0")
    assert str(p.conflicts_formula().resolve(cenv)) == 'base-nnp | ocaml-option-bytecode-only {< "2"}'
    env = package_env(DEBIAN12, "kitchen-sink", "1.0")
    assert p.available(env)
    assert not p.available(package_env(DEBIAN12.with_overrides({"arch": "arm32"}), "kitchen-sink", "1.0"))
    assert not p.available({"arch": "x86_64"})  # os undefined: unavailable
    assert p.depexts(env) == ("libgmp-dev",)
    assert p.commands("build", env) == (
        Command(("./configure", "--prefix=%{prefix}%", "--with-gmp", "%{lwt:enable}%-lwt")),
        Command(("%{make}%", "-j%{jobs}%")),
    )
    assert p.commands("install", env) == (Command(("%{make}%", "install")),)


def test_extra_source_keeps_its_mirrors() -> None:
    p = pkg(
        ast.Section("extra-source", "fix.patch", [
            VAR("src", S("https://e/fix.patch")),
            VAR("checksum", S("sha256=1")),
            VAR("mirrors", L([S("https://m1/fix.patch"), S("https://m2/fix.patch")])),
        ]),
    )
    (extra,) = p.extra_sources
    assert extra.mirrors == ("https://m1/fix.patch", "https://m2/fix.patch")
