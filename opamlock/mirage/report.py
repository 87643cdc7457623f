"""Audit reports: text for terminals, JSON for tools, Markdown for issues, HTML for browsing.

The HTML report is one self-contained page (no external script, style or font), so it can be
attached to a CI run or mailed. Rows are rendered on the server, so the page reads without
JavaScript; a small inline script adds the search box, which also reads ``#q=…`` or ``?q=…``
from the address so that a link can point at a filtered view.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from opamlock.mirage.audit import Verdict

__all__ = ["FORMATS", "render", "summary"]

FORMATS = ("text", "json", "md", "html")


def summary(verdicts: Sequence[Verdict]) -> dict[str, int]:
    c = Counter(v.verdict for v in verdicts)
    return {k: c.get(k, 0) for k in ("compatible", "incompatible", "unknown")}


def _json(verdicts: Sequence[Verdict], target: str) -> str:
    data: dict[str, Any] = {
        "target": target,
        "summary": summary(verdicts),
        "packages": [
            {**asdict(v), "chain": list(v.chain), "warnings": list(v.warnings), "explain": v.explain()}
            for v in verdicts
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _text(verdicts: Sequence[Verdict], target: str) -> str:
    out: list[str] = []
    for v in verdicts:
        line = f"{v.nv}: {v.verdict}"
        if v.verdict != "compatible":
            line += f"\n  chain: {' → '.join(v.chain)}"
            if v.marker:
                line += f"\n  because: {v.marker}"
        if v.verdict == "incompatible":
            plural = "y" if v.inherited_by == 1 else "ies"
            line += f"\n  inherited by {v.inherited_by} reverse dependenc{plural}"
        if v.sibling:
            line += f"\n  portable sibling: {v.sibling}"
        for w in v.warnings:
            line += f"\n  warning: {w}"
        out.append(line)
    s = summary(verdicts)
    out.append(
        f"audit ({target}): {len(verdicts)} packages: {s['compatible']} compatible, "
        f"{s['incompatible']} incompatible, {s['unknown']} unknown"
    )
    return "\n".join(out) + "\n"


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _md(verdicts: Sequence[Verdict], target: str) -> str:
    s = summary(verdicts)
    out = [
        f"# Mirage audit ({target})",
        "",
        f"{len(verdicts)} packages: **{s['compatible']}** compatible, **{s['incompatible']}** incompatible, "
        f"**{s['unknown']}** unknown.",
        "",
        "| package | verdict | chain | reason | inherited by | sibling |",
        "|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        out.append(
            "| "
            + " | ".join(
                _md_cell(x)
                for x in (
                    f"`{v.nv}`",
                    v.verdict,
                    " → ".join(v.chain),
                    v.marker,
                    str(v.inherited_by) if v.verdict == "incompatible" else "",
                    v.sibling or "",
                )
            )
            + " |"
        )
    return "\n".join(out) + "\n"


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}
#q{font-size:1em;padding:.4em;width:28em;max-width:90%}
table{border-collapse:collapse;margin-top:1em;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
.badge{display:inline-block;border-radius:.8em;padding:0 .6em;color:#fff;font-size:.85em}
.compatible{background:#2e7d32}.incompatible{background:#c62828}.unknown{background:#757575}
.chain{font-family:ui-monospace,monospace;font-size:.9em}
#count{margin-left:1em;color:#555}
"""

_JS = """
(function(){
  var q=document.getElementById('q'), rows=document.querySelectorAll('tbody tr');
  var count=document.getElementById('count');
  function apply(){
    var t=q.value.trim().toLowerCase(), n=0;
    rows.forEach(function(r){
      var hit=!t || r.getAttribute('data-search').indexOf(t)>=0;
      if(hit){r.removeAttribute('hidden');n++;}else{r.setAttribute('hidden','');}
    });
    count.textContent=n+' shown';
  }
  function fromAddress(){
    var m=/[#?&]q=([^&]*)/.exec(location.hash+'&'+location.search);
    if(m){q.value=decodeURIComponent(m[1].replace(/\\+/g,' '));}
  }
  q.addEventListener('input',apply);
  window.addEventListener('hashchange',function(){fromAddress();apply();});
  fromAddress();apply();
})();
"""


def _html(verdicts: Sequence[Verdict], target: str) -> str:
    e = html.escape
    s = summary(verdicts)
    rows: list[str] = []
    for v in verdicts:
        search = " ".join([v.nv, v.verdict, *v.chain, v.marker, v.sibling or ""]).lower()
        inherit = str(v.inherited_by) if v.verdict == "incompatible" else ""
        rows.append(
            f'<tr data-name="{e(v.name)}" data-verdict="{v.verdict}" data-search="{e(search)}">'
            f"<td>{e(v.nv)}</td>"
            f'<td><span class="badge {v.verdict}">{v.verdict}</span></td>'
            f'<td class="chain">{e(" → ".join(v.chain))}</td>'
            f"<td>{e(v.marker)}</td><td>{inherit}</td><td>{e(v.sibling or '')}</td></tr>"
        )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Mirage audit ({e(target)})</title><style>{_CSS}</style></head><body>"
        f"<h1>Mirage audit for target {e(target)}</h1>"
        f'<p id="summary">{len(verdicts)} packages: {s["compatible"]} compatible, '
        f'{s["incompatible"]} incompatible, {s["unknown"]} unknown.</p>'
        '<label>Search: <input id="q" type="search" placeholder="package, verdict, marker…" '
        'autocomplete="off"></label><span id="count"></span>'
        "<table><thead><tr><th>package</th><th>verdict</th><th>chain</th><th>reason</th>"
        "<th>inherited by</th><th>portable sibling</th></tr></thead><tbody>"
        + "".join(rows)
        + f"</tbody></table><script>{_JS}</script></body></html>\n"
    )


def render(verdicts: Sequence[Verdict], fmt: str, *, target: str) -> str:
    if fmt == "json":
        return _json(verdicts, target)
    if fmt == "md":
        return _md(verdicts, target)
    if fmt == "html":
        return _html(verdicts, target)
    return _text(verdicts, target)
