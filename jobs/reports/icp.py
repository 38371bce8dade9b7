"""The ICP report: one HTML page with inline SVG charts (no scripts, nothing fetched)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from jobs.reports.html import Markup, element, page, table


def bar_chart(rows: Sequence[Mapping[str, Any]], *, value: str, label: str) -> Markup:
    """Horizontal bars, one per row, scaled to the largest value."""
    if not rows:
        return element("p", "No attributes.")
    width, bar_height, left = 720, 18, 300
    top = max(float(r[value] or 0) for r in rows) or 1.0
    height = bar_height * len(rows) + 10
    bars = []
    for index, row in enumerate(rows):
        y = 5 + index * bar_height
        length = (width - left - 60) * float(row[value] or 0) / top
        bars.append(
            f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(str(row[label]))}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{length:.1f}" height="{bar_height - 5}" '
            f'fill="#3b7dd8"/><text x="{left + length + 4:.1f}" y="{y + 12}">'
            f"{float(row[value] or 0):.2f}</text>"
        )
    return Markup(f'<svg width="{width}" height="{height}" role="img">{"".join(bars)}</svg>')


def heatmap(pairs: Sequence[Mapping[str, Any]]) -> Markup:
    """A lift matrix of the top pairs: darker is a stronger association."""
    if not pairs:
        return element("p", "No pairs.")
    items = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    lifts = {(p["a"], p["b"]): float(p["lift"]) for p in pairs}
    lifts.update({(b, a): v for (a, b), v in list(lifts.items())})
    top = max(lifts.values()) or 1.0
    cell, left, head = 22, 300, 300
    size = len(items)
    parts = []
    for row, a in enumerate(items):
        y = head + row * cell
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(a)}</text>')
        for column, b in enumerate(items):
            lift = lifts.get((a, b))
            shade = 0 if lift is None else min(1.0, lift / top)
            color = f"rgba(200,40,40,{shade:.2f})" if lift is not None else "#f5f5f5"
            title = f"{a} & {b}: lift {lift:.2f}" if lift is not None else f"{a} & {b}"
            parts.append(
                f'<rect x="{left + column * cell}" y="{y}" width="{cell - 1}" '
                f'height="{cell - 1}" fill="{color}"><title>{escape(title)}</title>'
                "</rect>"
            )
    for column, b in enumerate(items):
        x = left + column * cell + 14
        parts.append(
            f'<text x="{x}" y="{head - 6}" transform="rotate(-60 {x} {head - 6})">'
            f"{escape(b)}</text>"
        )
    return Markup(
        f'<svg width="{left + size * cell + 20}" height="{head + size * cell + 10}" '
        f'role="img">{"".join(parts)}</svg>'
    )


def icp_report_html(result: Mapping[str, Any]) -> str:
    """Top attributes (bars by lift), pairs (lift heatmap), itemsets and rules, suggestions."""
    lift_rows = [{**r, "label": f"{r['name']}={r['value']}"} for r in result.get("top_lift", [])]
    scope = f"segment {result['segment']}" if result.get("segment") else "the enriched seed set"
    suggestions = result.get("suggestions", {})
    top_lift = table(
        ("attribute", "value", "members", "rate", "universe rate", "lift", "cluster_hash"),
        (
            (
                r["name"],
                r["value"],
                r["count"],
                r["rate"],
                r["universe_rate"],
                r["lift"],
                r["cluster_hash"],
            )
            for r in result.get("top_lift", [])
        ),
    )
    frequent = table(
        ("attribute", "value", "members", "rate", "lift"),
        (
            (r["name"], r["value"], r["count"], r["rate"], r["lift"])
            for r in result.get("top_attributes", [])
        ),
    )
    pairs = table(
        ("a", "b", "members", "support", "lift", "confidence"),
        (
            (p["a"], p["b"], p["count"], p["support"], p["lift"], p["confidence"])
            for p in result.get("pairs", [])
        ),
    )
    itemsets = table(
        ("items", "members"),
        ((" AND ".join(i["items"]), i["count"]) for i in result.get("itemsets", [])),
    )
    rules = table(
        ("if", "then", "confidence", "lift", "support"),
        (
            (
                " AND ".join(r["antecedent"]),
                " AND ".join(r["consequent"]),
                r["confidence"],
                r["lift"],
                r["support"],
            )
            for r in result.get("rules", [])
        ),
    )
    summary = (
        f"{result.get('members', 0):,} enriched members of {scope}; universe of "
        f"{result.get('universe_size', 0):,} persons; minimum support {result.get('min_support')}."
    )
    return page(
        f"ICP - {result['partner']}",
        element("h1", f"Ideal customer profile: partner {result['partner']}"),
        element("p", summary),
        element("h2", "Attributes over-represented among customers (lift over the universe)"),
        bar_chart(lift_rows, value="lift", label="label"),
        top_lift,
        element("h2", "Most frequent attributes"),
        frequent,
        element("h2", "Pairs that occur together (lift within the customers)"),
        heatmap(result.get("pairs", [])),
        pairs,
        element("h2", "Attribute clusters of 3 or more (FP-Growth)"),
        itemsets,
        element("h2", "Association rules"),
        rules,
        element("h2", "Lookalike expressions"),
        table(("approach", "expression"), sorted(suggestions.items())),
    )
