"""Every command given bad input: a one-line error and a hint on stderr, exit 1 (user error) or 2
(usage), never a traceback.

The inputs are the everyday mistakes: no project, a malformed opamlock.toml, no lock or a broken
one, a misspelt package, a bad ``--var``, a ``--repo`` that does not exist, an output that
cannot be written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from opamlock.cli import main
from opamlock.lockfile import dumps
from tests.test_lockfile import make_lock

REPO = str(Path(__file__).resolve().parents[1] / "fixtures" / "universes" / "tiny-repo")
MISSING = "/nonexistent/opamlock-test"

# (where, arguments, exit code, text the error must contain)
CASES: list[tuple[str, list[str], int, str]] = [
    # No opamlock.toml here or above.
    ("empty", ["build"], 1, "no lock file"),
    ("empty", ["fetch"], 1, "no lock file"),
    ("empty", ["export"], 1, "no opamlock.toml"),
    ("empty", ["why", "lib"], 1, "no opamlock.toml"),
    ("empty", ["tree"], 1, "no opamlock.toml"),
    ("empty", ["lock"], 1, "no opamlock.toml"),
    ("empty", ["lock", "--check"], 1, "no opamlock.toml"),
    ("empty", ["check", "--mirage"], 1, "no opamlock.toml"),
    ("empty", ["solve", "app"], 2, "no repository to solve against"),
    ("empty", ["list"], 2, "no repository to list"),
    ("empty", ["show", "app"], 2, "no repository"),
    ("empty", ["audit", "app"], 2, "no repository to audit"),
    # A malformed opamlock.toml.
    ("bad-toml", ["lock"], 1, "invalid TOML"),
    ("bad-toml", ["lock", "--check"], 1, "invalid TOML"),
    ("bad-toml", ["check", "--mirage"], 1, "opamlock.toml"),
    ("bad-toml", ["solve", "app"], 1, "invalid TOML"),
    ("bad-toml", ["list"], 1, "invalid TOML"),
    ("bad-toml", ["show", "app"], 1, "invalid TOML"),
    ("bad-toml", ["audit", "app"], 1, "invalid TOML"),
    # Files that are not UTF-8 text.
    ("not-utf8", ["lock"], 1, "not UTF-8 text"),
    ("not-utf8", ["list"], 1, "not UTF-8 text"),
    ("not-utf8", ["diff", "binary.lock", "binary.lock"], 1, "not UTF-8 text"),
    ("not-utf8", ["fetch", "--lock", "binary.lock"], 1, "not UTF-8 text"),
    ("not-utf8+lock", ["build"], 1, "opamlock.toml: cannot read it"),
    ("not-utf8+lock", ["fetch"], 1, "not UTF-8 text"),
    ("bad-toml+lock", ["build"], 1, "opamlock.toml: not valid TOML"),
    ("bad-toml+lock", ["fetch"], 1, "invalid TOML"),
    ("not-utf8", ["check", "--mirage", "--lock", "binary.lock"], 1, "opamlock.toml"),
    # A project with a lock: a package that is not in it.
    ("locked", ["why", "nosuch"], 1, "nosuch is not in the lock"),
    ("locked", ["export", "--platform", "nosuch"], 1, "no platform 'nosuch'"),
    # Misspelt packages and bad options against a repository.
    ("empty", ["show", "ap", "--repo", REPO], 1, "no package named 'ap'"),
    ("empty", ["show", "app.7", "--repo", REPO], 1, "no version '7' of app"),
    ("empty", ["solve", "nosuch", "--repo", REPO], 1, "no package named 'nosuch'"),
    ("empty", ["audit", "ap", "--repo", REPO], 1, "no package named 'ap'"),
    ("empty", ["audit", "lib.9", "--repo", REPO], 1, "lib.9 is not in the repositories"),
    ("empty", ["solve", "app", "--repo", REPO, "--var", "os"], 2, "invalid --var 'os'"),
    ("empty", ["solve", "app", "--repo", REPO, "--var", "bad name=x"], 2, "invalid --var"),
    ("locked", ["lock", "--var", "os"], 2, "invalid --var 'os'"),
    # Repositories that do not exist.
    ("empty", ["solve", "app", "--repo", MISSING], 1, "not found"),
    ("empty", ["list", "--repo", MISSING], 1, "not found"),
    ("empty", ["show", "app", "--repo", MISSING], 1, "not found"),
    ("empty", ["audit", "app", "--repo", MISSING], 1, "not found"),
    ("empty", ["init", "--repo", MISSING], 1, "not found"),
    # Locks that are missing or not locks.
    ("empty", ["build", "--lock", MISSING], 1, "no lock file"),
    ("empty", ["fetch", "--lock", MISSING], 1, "no lock file"),
    ("empty", ["check", "--mirage", "--lock", MISSING], 1, "no lock file"),
    ("empty", ["diff", MISSING, MISSING], 1, "no lock file"),
    ("not-a-lock", ["build", "--lock", "broken.lock"], 1, "not valid TOML"),
    ("not-a-lock", ["diff", "broken.lock", "broken.lock"], 1, "not valid TOML"),
    ("not-a-lock", ["check", "--mirage", "--lock", "broken.lock"], 1, "cannot read the lock"),
    # Outputs that cannot be written.
    ("empty", ["audit", "app", "--repo", REPO, "-o", MISSING + "/report.html"], 1, "cannot write"),
    ("empty", ["init", "--repo", REPO, "--project", MISSING], 1, "cannot write"),
    ("empty", ["image", "--gce", "-o", "/proc/opamlock-test/disk.tar", "/etc/hostname"], 1, "cannot write"),
    # Usage errors are exit 2 before any file is read.
    ("empty", ["build", "--repo", "no-equals-sign"], 2, "--repo expects NAME=PATH"),
    ("empty", ["init", "--repo", REPO, "--platform", "linux"], 2, "expected OS-ARCH"),
    ("empty", ["lock", "--upgrade", "--upgrade-package", "x"], 2, "--upgrade"),
    ("empty", ["check"], 2, "say what to check"),
    ("empty", ["image", "/etc/hostname"], 2, "--gce"),
]


#: What opamlock.toml holds in each kind of directory (``+lock``: a valid lock beside it).
CONFIGS: dict[str, bytes] = {
    "bad-toml": b"this is [ not toml\n",
    "not-utf8": b"\xff\xfe[[repository]]\n",
    "locked": b'[[repository]]\nname = "r"\npath = "repo"\n',
}


def _where(tmp_path: Path, kind: str) -> Path:
    d = tmp_path / kind
    d.mkdir()
    config = CONFIGS.get(kind.removesuffix("+lock"))
    if config is not None:
        (d / "opamlock.toml").write_bytes(config)
    if kind == "locked" or kind.endswith("+lock"):
        (d / "opamlock.lock").write_text(dumps(make_lock(())))
    if kind == "not-a-lock":
        (d / "broken.lock").write_text("just some words\n")
    if kind == "not-utf8":
        (d / "binary.lock").write_bytes(b"\xff\xfelock-version = 1\n")
    return d


@pytest.mark.parametrize(("where", "args", "code", "text"), CASES, ids=[" ".join(c[1]) for c in CASES])
def test_bad_input_is_an_error_with_a_hint_never_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, args: list[str], code: int, text: str
) -> None:
    monkeypatch.setenv("OPAMLOCK_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(_where(tmp_path, where))
    r = CliRunner().invoke(main, args)
    assert isinstance(r.exception, SystemExit), r.exception  # anything else is a traceback
    assert r.exit_code == code, r.output
    assert text in r.stderr, r.stderr
    assert "Traceback" not in r.output
    if code == 1:
        assert "opamlock: error: " in r.stderr, r.stderr
        assert "\nhint: " in r.stderr, f"no hint in: {r.stderr}"
