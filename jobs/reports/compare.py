"""The partner agreement report: a provider-pair matrix and per-attribute rates (plain HTML)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.audiences.overlap import withheld_text
from jobs.reports.html import Markup, element, join, page, table

EXPLANATION = (
    "A cell is one profile's attribute. Agree: two or more partners give the same value; "
    "disagree: they differ; not comparable: fewer than two independent values (a value "
    "declared not independent, such as a household-level or resold one, never counts as a "
    "second line)."
)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _count(value: int | None, k: int) -> int | str:
    """A count, or `< k` where it was withheld."""
    return f"< {k}" if value is None else value


def _shade(value: float | None) -> str:
    if value is None:
        return "#f5f5f5"
    return f"rgba(40,140,60,{max(0.08, value):.2f})"


def _matrix(pairs: list[Mapping[str, Any]], k: int) -> Markup:
    """Providers against providers, each cell shaded by its agreement rate."""
    providers = sorted({p["provider_a"] for p in pairs} | {p["provider_b"] for p in pairs})
    rates = {(p["provider_a"], p["provider_b"]): p for p in pairs}
    rates.update({(b, a): v for (a, b), v in list(rates.items())})
    rows = []
    for a in providers:
        cells = []
        for b in providers:
            pair = rates.get((a, b))
            rate = pair["agreement_rate"] if pair else None
            if a == b:
                label: Any = ""
            elif pair is None:
                label = "-"
            else:
                label = join(
                    _rate(rate),
                    Markup("<br>"),
                    element("small", f"{withheld_text(pair['compared'], k)} cells"),
                )
            cells.append(element("td", label, class_="n", style=f"background:{_shade(rate)}"))
        rows.append(join(Markup("<tr>"), element("th", a), *cells, Markup("</tr>")))
    head = join(Markup("<tr><th></th>"), *(element("th", p) for p in providers), Markup("</tr>"))
    return join(Markup("<table>"), head, *rows, Markup("</table>"))


def compare_report_html(result: Mapping[str, Any]) -> str:
    """Matrix of agreement rates between partners, then rates per attribute (counts under
    k shown as `< k`)."""
    k = result.get("k", 1)
    attributes = table(
        ("attribute", "agree", "disagree", "not comparable", "agreement rate"),
        (
            (
                r["attribute"],
                _count(r["agree"], k),
                _count(r["disagree"], k),
                _count(r["not_comparable"], k),
                _rate(r["agreement_rate"]),
            )
            for r in result.get("by_attribute", [])
        ),
    )
    return page(
        "partnerkit: partner agreement",
        element("h1", "Where partners agree"),
        element("p", EXPLANATION),
        join(element("h2", "Agreement between partners"), _matrix(result.get("by_pair", []), k)),
        join(element("h2", "Per attribute"), attributes),
    )
