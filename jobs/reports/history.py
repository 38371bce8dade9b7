"""The history page: match rates and delivery quality over time, inline SVG, nothing fetched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from jobs.reports.html import Markup, element, join, page, table

COLOURS = ("#3b7dd8", "#d8703b", "#1b7f3b", "#8e44ad", "#b00020", "#7f7f00")


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> Markup:
    """Lines of values in 0..1 over the labels (runs or deliveries), with a legend."""
    if not labels or not series:
        return element("p", "Nothing recorded yet.")
    width, height, left, top, bottom = 720, 220, 50, 10, 40
    inner_w, inner_h = width - left - 20, height - top - bottom
    step = inner_w / max(len(labels) - 1, 1)

    def x(index: int) -> float:
        return left + index * step

    def y(value: float) -> float:
        return top + inner_h * (1 - value)

    parts = [
        f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + inner_w}" y2="{y(v):.1f}" '
        f'stroke="#ddd"/><text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0%}</text>'
        for v in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{x(index):.1f}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for number, (name, values) in enumerate(series.items()):
        colour = COLOURS[number % len(COLOURS)]
        points = [(x(i), y(float(v))) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}"/>')
        parts += [
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in points
        ]
        parts.append(
            f'<text x="{left + 10 + number * 110}" y="{height - 4}" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    return Markup(f'<svg width="{width}" height="{height}" role="img">{"".join(parts)}</svg>')


def _short(timestamp: str) -> str:
    return timestamp[:16].replace("T", " ")


def match_section(matches: Sequence[Mapping[str, Any]]) -> Markup:
    names = sorted({name for m in matches for name in m["by_identifier"]})
    series: dict[str, list[float | None]] = {"overall": [m["rate"] for m in matches]}
    for name in names:
        series[name] = [m["by_identifier"].get(name) for m in matches]
    rows = [
        [
            _short(m["started_at"]),
            m["workflow_id"][:8],
            m["requested"],
            m["resolved"],
            f"{m['rate']:.2%}",
            ", ".join(f"{k} {v:.2%}" for k, v in sorted(m["by_identifier"].items())),
            "" if m["new"] is None else m["new"],
            "" if m["lost"] is None else m["lost"],
        ]
        for m in matches
    ]
    return join(
        element("h2", "Match rate per run"),
        line_chart([_short(m["started_at"]) for m in matches], series),
        table(
            ("run", "workflow", "requested", "matched", "rate", "per identifier", "new", "lost"),
            rows,
        ),
    )


def _docs_links(paths: Sequence[str]) -> Markup:
    if not paths:
        return Markup("")
    return Markup(
        "<br>".join(
            f'<a href="{escape(Path(p).as_uri())}">{escape(Path(p).parent.name)} Data Docs</a>'
            for p in paths
        )
    )


def delivery_section(deliveries: Sequence[Mapping[str, Any]]) -> Markup:
    labels = [_short(d["started_at"]) for d in deliveries]
    series = {"quarantined share": [d["quarantined_share"] for d in deliveries]}
    rows = [
        [
            _short(d["started_at"]),
            d["kind"],
            d["status"],
            d["files"],
            d["input_rows"],
            d["accepted_rows"],
            d["quarantined_rows"],
            ", ".join(f"{k} {v:,}" for k, v in d["quarantined_by_reason"].items()),
            f"{d['gate']['passed']} passed, {d['gate']['failed']} failed",
            _docs_links(d["data_docs"]),
        ]
        for d in deliveries
    ]
    return join(
        element("h2", "Deliveries"),
        line_chart(labels, series),
        table(
            (
                "delivery",
                "kind",
                "status",
                "files",
                "input",
                "accepted",
                "quarantined",
                "quarantined by reason",
                "gate",
                "Data Docs",
            ),
            rows,
        ),  # fmt: skip
    )


def history_page(
    partner: str, matches: Sequence[Mapping[str, Any]], deliveries: Sequence[Mapping[str, Any]]
) -> str:
    return page(
        f"partnerkit history: {partner}",
        element("h1", f"History of partner {partner}"),
        match_section(matches),
        delivery_section(deliveries),
    )
