"""The HTML audit report, opened in headless Chromium: it renders, the search box filters, and a
known package shows its verdict and chain. The search is driven through the ``#q=`` fragment that
the page reads, as a link to a filtered view would."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from opamlock.mirage.audit import Auditor
from opamlock.mirage.report import render
from opamlock.opamfile import parse
from opamlock.package import Package
from opamlock.repository import Universe
from opamlock.version import OpamVersion

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

TOY = {
    "base-unix.base": "",
    "fmt.1": "",
    "cstruct.6": 'depends: ["fmt"]',
    "cstruct-lwt.6": 'depends: ["cstruct" "base-unix"]',
    "mirage-net-unix.3": 'depends: ["cstruct-lwt"]',
    "mirage-net-solo5.0.8": 'depends: ["cstruct"]',
    "ghost.1": 'depends: ["no-such-package"]',
}


def _report(tmp_path: Path) -> Path:
    pkgs = [Package(nv.partition(".")[0], OpamVersion(nv.partition(".")[2]),
                    parse('opam-version: "2.0"\n' + body, nv)) for nv, body in TOY.items()]
    verdicts = Auditor(Universe.from_packages(pkgs), target="hvt").audit()
    out = tmp_path / "audit.html"
    out.write_text(render(verdicts, "html", target="hvt"), encoding="utf-8")
    return out


def _dom(page: Path, fragment: str, tmp_path: Path) -> str:
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{abs(hash(fragment))}"
    r = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
         "--virtual-time-budget=3000", "--dump-dom", page.as_uri() + fragment],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def _rows(dom: str) -> dict[str, tuple[bool, str]]:
    """data-name → (visible, row html)."""
    out = {}
    for m in re.finditer(r"<tr ([^>]*)>(.*?)</tr>", dom, re.S):
        attrs, body = m.group(1), m.group(2)
        name = re.search(r'data-name="([^"]+)"', attrs)
        if name:
            out[name.group(1)] = ("hidden" not in attrs, body)
    return out


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_html_report_in_headless_chromium(tmp_path: Path) -> None:
    page = _report(tmp_path)
    text = page.read_text()
    assert "<link" not in text and "src=" not in text  # one self-contained page

    dom = _dom(page, "", tmp_path)
    rows = _rows(dom)
    assert set(rows) == {n.partition(".")[0] for n in TOY}
    assert all(visible for visible, _ in rows.values())
    assert "7 shown" in dom  # the script ran
    _, body = rows["mirage-net-unix"]
    assert 'class="badge incompatible">incompatible<' in body
    assert "mirage-net-unix.3 → cstruct-lwt.6" in body and "depends on base-unix" in body
    assert "mirage-net-solo5" in body  # the portable sibling
    assert 'class="badge compatible">compatible<' in rows["cstruct"][1]
    assert 'class="badge unknown">unknown<' in rows["ghost"][1]

    # The search box filters: typing "net" (via the #q= fragment the page reads) keeps two rows.
    dom = _dom(page, "#q=net", tmp_path)
    shown = {n for n, (visible, _) in _rows(dom).items() if visible}
    assert shown == {"mirage-net-unix", "mirage-net-solo5"}
    assert re.search(r'<input id="q"[^>]*>', dom) and "2 shown" in dom

    # Searching a verdict or a marker works too.
    dom = _dom(page, "#q=incompatible", tmp_path)
    shown = {n for n, (visible, _) in _rows(dom).items() if visible}
    assert shown == {"cstruct-lwt", "mirage-net-unix", "base-unix"}
