"""The steward report: one self-contained HTML page (no scripts, no network) a steward opens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from governance.catalogs import Governance
from governance.checks import Finding
from governance.policies import DatasetView
from jobs.reports.html import Markup, code, element, join, lines, page, table
from schemas.models import FieldDef


def _findings(findings: Sequence[Finding]) -> Markup:
    if not findings:
        return element("p", "No findings: every check passed.", class_="ok")
    return table(
        ("level", "check", "where", "finding"),
        (
            (element("span", f.level, class_=f.level), f.check, code(f.where), f.message)
            for f in findings
        ),
    )


def _datasets(datasets: Mapping[str, DatasetView]) -> Markup:
    return table(
        ("dataset", "dataset labels (every field inherits them)", "fields"),
        (
            (code(name), " ".join(view.labels) or "-", str(len(view.fields)))
            for name, view in datasets.items()
        ),
    )


def _fields(fields: Sequence[FieldDef]) -> Markup:
    return table(
        ("field", "type", "labels (origin)"),
        (
            (
                code(f.path),
                f.spark_type.simpleString(),
                lines(label.describe() for label in f.labels) or "-",
            )
            for f in fields
        ),
    )


def _policies(governance: Governance) -> Markup:
    return table(
        ("policy", "name", "marketing actions", "denied when", "status", "origin"),
        (
            (
                code(p.id),
                p.name,
                ", ".join(p.marketing_actions),
                code(p.deny.describe()),
                p.status,
                governance.origins.get(f"policy:{p.id}", ""),
            )
            for p in governance.policies
        ),
    )


def _labels(governance: Governance) -> Markup:
    return table(
        ("label", "category", "name", "meaning", "origin"),
        (
            (
                code(label.code),
                label.category,
                label.name,
                label.description,
                governance.origins.get(f"label:{label.code}", ""),
            )
            for label in governance.labels.values()
        ),
    )


def steward_report_html(
    governance: Governance,
    fields: Sequence[FieldDef],
    datasets: Mapping[str, DatasetView],
    findings: Sequence[Finding],
    notes: Sequence[str],
    generated_at: datetime,
) -> str:
    """Findings first, then labels per dataset and field, policies and the label catalog."""
    errors = sum(f.level == "error" for f in findings)
    warnings = len(findings) - errors
    summary = join(
        f"Generated {generated_at.isoformat(timespec='seconds')}: ",
        element("span", f"{errors} error(s)", class_="error" if errors else "ok"),
        ", ",
        element("span", f"{warnings} warning(s)", class_="warning"),
        ".",
    )
    notes_list = element("ul", join(*(element("li", n) for n in notes))) if notes else ""
    return page(
        "partnerkit steward report",
        element("h1", "Steward report"),
        element("p", summary),
        notes_list,
        join(element("h2", "Findings"), _findings(findings)),
        join(element("h2", "Datasets and their labels"), _datasets(datasets)),
        join(element("h2", "Fields and their labels"), _fields(fields)),
        join(element("h2", "Policies"), _policies(governance)),
        join(element("h2", "Labels"), _labels(governance)),
    )
