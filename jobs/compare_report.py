"""The partner agreement report: a provider-pair matrix and per-attribute rates (plain HTML)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f3f3f3}
td.n{text-align:right}
"""


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _shade(value: float | None) -> str:
    if value is None:
        return "#f5f5f5"
    return f"rgba(40,140,60,{max(0.08, value):.2f})"


def compare_report_html(result: Mapping[str, Any]) -> str:
    """Matrix of agreement rates between partners, then rates per attribute."""
    pairs = result.get("by_pair", [])
    providers = sorted({p["provider_a"] for p in pairs} | {p["provider_b"] for p in pairs})
    rates = {(p["provider_a"], p["provider_b"]): p for p in pairs}
    rates.update({(b, a): v for (a, b), v in list(rates.items())})
    header = "".join(f"<th>{escape(p)}</th>" for p in providers)
    rows = []
    for a in providers:
        cells = []
        for b in providers:
            pair = rates.get((a, b))
            rate = pair["agreement_rate"] if pair else None
            if a == b:
                label = ""
            elif pair is None:
                label = "-"
            else:
                label = f"{_rate(rate)}<br><small>{pair['compared']:,} cells</small>"
            cells.append(f'<td class="n" style="background:{_shade(rate)}">{label}</td>')
        rows.append(f"<tr><th>{escape(a)}</th>{''.join(cells)}</tr>")
    attributes = "".join(
        f"<tr><td>{escape(r['attribute'])}</td><td class='n'>{r['agree']:,}</td>"
        f"<td class='n'>{r['disagree']:,}</td><td class='n'>{r['not_comparable']:,}</td>"
        f"<td class='n'>{_rate(r['agreement_rate'])}</td></tr>"
        for r in result.get("by_attribute", [])
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>partnerkit: partner agreement</title>
<style>{STYLE}</style></head><body>
<h1>Where partners agree</h1>
<p>A cell is one profile's attribute. Agree: two or more partners give the same value;
disagree: they differ; not comparable: fewer than two independent values (a value declared
not independent, such as a household-level or resold one, never counts as a second line).</p>
<h2>Agreement between partners</h2>
<table><tr><th></th>{header}</tr>{"".join(rows)}</table>
<h2>Per attribute</h2>
<table><tr><th>attribute</th><th>agree</th><th>disagree</th><th>not comparable</th>
<th>agreement rate</th></tr>{attributes}</table>
</body></html>
"""
