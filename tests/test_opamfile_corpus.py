"""The parser against opam-file-format itself, on every opam file of the real repositories.

The reference parser (../shared/oracles/opam_parse_json.ml) prints one JSON line per file; ours
must print the same bytes for every file. Each corpus is parsed once and shared by the
differential and round-trip checks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opamlock.opamfile import OpamSyntaxError, parse, print_file, to_json
from opamlock.opamfile.ast import OpamFile

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

Parsed = dict[str, OpamFile | OpamSyntaxError]


def opam_files(repo: Path) -> list[str]:
    """Relative paths of every ``opam`` file under ``packages/``, sorted like ``sort``."""
    return sorted(str(p.relative_to(repo)) for p in (repo / "packages").rglob("opam") if p.is_file())


def parse_all(repo: Path) -> tuple[list[str], Parsed]:
    names = opam_files(repo)
    out: Parsed = {}
    for name in names:
        try:
            out[name] = parse((repo / name).read_bytes(), name)
        except OpamSyntaxError as e:
            out[name] = e
    return names, out


@pytest.fixture(scope="module")
def snapshot_parsed(snapshot_dir: Path) -> tuple[Path, list[str], Parsed]:
    return (snapshot_dir, *parse_all(snapshot_dir))


def differential(repo: Path, names: list[str], parsed: Parsed, refbin: Path) -> tuple[int, list[str]]:
    ref = subprocess.run(
        [str(refbin)], input="".join(n + "\n" for n in names).encode(), cwd=repo,
        capture_output=True, check=True,
    ).stdout.split(b"\n")[:-1]
    assert len(ref) == len(names)
    same, bad = 0, []
    for name, line in zip(names, ref, strict=True):
        ours = parsed[name]
        if isinstance(ours, OpamSyntaxError):
            ok = b'"ok":false' in line
        else:
            ok = to_json(ours).encode("utf-8") == line
        if ok:
            same += 1
        else:
            bad.append(name)
    return same, bad


@pytest.mark.oracle
def test_snapshot_identical_to_reference(
    snapshot_parsed: tuple[Path, list[str], Parsed], reference_parser: Path
) -> None:
    repo, names, parsed = snapshot_parsed
    same, bad = differential(repo, names, parsed, reference_parser)
    assert bad == [], f"{len(bad)} of {len(names)} files differ, first: {bad[:5]}"
    assert same == len(names) == 18793


@pytest.mark.oracle
@pytest.mark.parametrize("which", ["old_snapshot_dir", "overlays_dir"])
def test_other_corpora_identical_to_reference(
    which: str, request: pytest.FixtureRequest, reference_parser: Path
) -> None:
    repo: Path = request.getfixturevalue(which)
    names, parsed = parse_all(repo)
    same, bad = differential(repo, names, parsed, reference_parser)
    assert bad == [], f"{len(bad)} of {len(names)} files differ, first: {bad[:5]}"
    assert same == len(names) > 100


def test_every_snapshot_file_parses_and_round_trips(snapshot_parsed: tuple[Path, list[str], Parsed]) -> None:
    _, names, parsed = snapshot_parsed
    failures = [n for n in names if isinstance(parsed[n], OpamSyntaxError)]
    assert failures == []
    for name in names:
        tree = parsed[name]
        assert isinstance(tree, OpamFile)
        assert parse(print_file(tree), name) == tree, name
