"""opamlock.toml: reading, validation errors with their place, rendering, init."""

from __future__ import annotations

from pathlib import Path

import pytest

from opamlock.errors import LocatedError, OpamlockError
from opamlock.project import (
    Config,
    InvalidConfig,
    RepositorySpec,
    find_project,
    init_project,
    parse_config,
    render_config,
)

GOOD = """
[[repository]]
name = "opam-overlays"
path = "../corpus/opam-overlays.tar.gz"
hash = "sha256:abc"

[[repository]]
name = "opam-repository"
url = "git+https://github.com/ocaml/opam-repository.git"
commit = "97014be61691efb695da5de8e860cba5d74fa1f5"

[solve]
platforms = [{ os = "linux", arch = "x86_64", os-distribution = "debian", os-family = "debian" },
             { os = "macos", arch = "arm64" }]
with-test = true
constraints = ["ocaml>=5.1"]

[pins]
lwt = "5.9.1"

[mirage]
targets = ["hvt"]
allow = ["foo"]

[fetch]
mirrors = ["https://opam.ocaml.org/cache"]

[build]
commands = [["make"]]
"""


def test_a_full_config_reads() -> None:
    c = parse_config(GOOD)
    assert [r.name for r in c.repositories] == ["opam-overlays", "opam-repository"]
    assert c.repositories[0].location(Path("/p/q")) == "/p/corpus/opam-overlays.tar.gz"
    assert c.repositories[0].lock_url == "../corpus/opam-overlays.tar.gz"
    assert c.repositories[1].lock_url == "git+https://github.com/ocaml/opam-repository.git"
    assert c.platforms is not None
    assert [p.name for p in c.platforms] == ["linux-x86_64", "macos-arm64"]
    assert c.platforms[1].vars["os-family"] == "homebrew"  # filled in as opam reports macOS
    assert c.platforms[0].vars["opam-version"]  # the target opam release is always explicit
    assert c.with_test and not c.with_doc
    assert [str(a) for a in c.constraints] == ['ocaml {>= "5.1"}']
    assert c.pins == (("lwt", "5.9.1"),)
    assert c.mirage_targets == ("hvt",) and c.mirage["allow"] == ["foo"]
    assert c.mirrors == ("https://opam.ocaml.org/cache",)
    assert c.build["commands"] == [["make"]]


def test_solve_settings_ignore_fetch_mirrors_and_platforms() -> None:
    a = parse_config(GOOD)
    b = parse_config(GOOD.replace("https://opam.ocaml.org/cache", "https://mirror.example"))
    c = parse_config(GOOD.replace('{ os = "macos", arch = "arm64" }', '{ os = "macos", arch = "x86_64" }'))
    d = parse_config(GOOD.replace('"ocaml>=5.1"', '"ocaml>=5.2"'))
    assert a.solve_settings() == b.solve_settings() == c.solve_settings()
    assert a.solve_settings() != d.solve_settings()


def test_toml_syntax_errors_have_line_and_column() -> None:
    with pytest.raises(LocatedError) as e:
        parse_config('[solve]\nwith-test = tru\n', "proj/opamlock.toml")
    assert (e.value.filename, e.value.line) == ("proj/opamlock.toml", 2)
    assert e.value.col >= 1
    assert "with-test = tru" in e.value.render()
    assert e.value.hint


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (('os = "macos"', "os = 3"), "solve.platforms[1].os: expected a string, found an integer"),
        (('{ os = "macos", arch = "arm64" }', '{ os = "macos" }'), "solve.platforms[1].arch: missing"),
        (("with-test = true", 'with-test = "yes"'), "solve.with-test: expected true or false"),
        (('"ocaml>=5.1"', '"ocaml>>5.1"'), "solve.constraints[0]: invalid version in package atom"),
        (('lwt = "5.9.1"', 'lwt = "5 9"'), "pins.lwt: invalid version"),
        (('commit = "97014be61691efb695da5de8e860cba5d74fa1f5"', 'commit = "main"'),
         "repository[1].commit: 'main' is not a full commit hash"),
        (('path = "../corpus/opam-overlays.tar.gz"', 'path = "/abs/overlays"'),
         "repository[0].path: must be relative to the project"),
        (('name = "opam-overlays"', 'name = "opam-repository"'),
         "repository[1].name: repository name 'opam-repository' is used twice"),
        (("[fetch]", "[fetch]\nretries = 3"), "fetch.retries: unknown key"),
        (("[pins]", "[[target]]\nname = 'x'\n[pins]"), "target: unknown key"),
    ],
)
def test_invalid_values_name_their_key_path(edit: tuple[str, str], where: str) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    with pytest.raises(InvalidConfig) as e:
        parse_config(text, "opamlock.toml")
    assert f"opamlock.toml: {where}" in e.value.message
    assert e.value.hint


def test_a_repository_needs_url_with_commit_or_path() -> None:
    with pytest.raises(InvalidConfig, match=r"repository\[0\]: needs exactly one of `url` or `path`"):
        parse_config('[[repository]]\nname = "a"\n')
    with pytest.raises(InvalidConfig, match=r"repository\[0\]\.commit: missing"):
        parse_config('[[repository]]\nname = "a"\nurl = "git+https://x/y.git"\n')
    with pytest.raises(InvalidConfig, match=r"repository: expected at least one"):
        parse_config("[solve]\n")


def test_render_then_parse_is_the_same_config() -> None:
    c = parse_config(GOOD)
    again = parse_config(render_config(c))
    assert again.solve_settings() == c.solve_settings()
    assert again.platforms == c.platforms
    assert again.mirrors == c.mirrors and again.build == c.build


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    repo = RepositorySpec(name="local", path="repo", hash="sha256:1")
    path = init_project(tmp_path, repositories=[repo])
    cfg = parse_config(path.read_text())
    assert cfg.repositories == (repo,)
    assert cfg.platforms is not None and len(cfg.platforms) == 1  # the host, written out in full
    with pytest.raises(OpamlockError, match="already exists"):
        init_project(tmp_path, repositories=[repo])
    init_project(tmp_path, repositories=[repo], force=True, mirage_targets=["hvt"])
    assert parse_config(path.read_text()).mirage_targets == ("hvt",)


def test_find_project_walks_up(tmp_path: Path) -> None:
    (tmp_path / "opamlock.toml").write_text(GOOD)
    sub = tmp_path / "src" / "lib"
    sub.mkdir(parents=True)
    assert find_project(sub) == tmp_path.resolve()
    with pytest.raises(OpamlockError, match=r"no opamlock\.toml"):
        find_project(Path("/"))


def test_config_default_platform_is_the_host() -> None:
    c = Config(repositories=(RepositorySpec(name="a", path="."),))
    (host,) = c.effective_platforms()
    assert "os" in host.vars and "arch" in host.vars
    (over,) = c.effective_platforms({"os": "freebsd"})
    assert over.vars["os"] == "freebsd" and over.name.startswith("freebsd-")
