"""The steward report: one self-contained HTML page (no scripts, no network) a steward opens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape

from governance.catalogs import Governance
from governance.checks import Finding
from governance.policies import DatasetView
from schemas.models import FieldDef

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.error{color:#b00020;font-weight:bold}.warning{color:#a15c00}
.ok{color:#1b7f3b;font-weight:bold}code{font-size:0.95em}
"""


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _findings(findings: Sequence[Finding]) -> str:
    if not findings:
        return '<p class="ok">No findings: every check passed.</p>'
    return _table(
        ("level", "check", "where", "finding"),
        ((f'<span class="{f.level}">{f.level}</span>', escape(f.check),
          f"<code>{escape(f.where)}</code>", escape(f.message)) for f in findings),
    )  # fmt: skip


def _datasets(datasets: Mapping[str, DatasetView]) -> str:
    return _table(
        ("dataset", "dataset labels (every field inherits them)", "fields"),
        ((f"<code>{escape(name)}</code>", escape(" ".join(view.labels)) or "-",
          str(len(view.fields))) for name, view in datasets.items()),
    )  # fmt: skip


def _fields(fields: Sequence[FieldDef]) -> str:
    return _table(
        ("field", "type", "labels (origin)"),
        ((f"<code>{escape(f.path)}</code>", escape(f.spark_type.simpleString()),
          "<br>".join(escape(label.describe()) for label in f.labels) or "-") for f in fields),
    )  # fmt: skip


def _policies(governance: Governance) -> str:
    return _table(
        ("policy", "name", "marketing actions", "denied when", "status", "origin"),
        ((f"<code>{escape(p.id)}</code>", escape(p.name), escape(", ".join(p.marketing_actions)),
          f"<code>{escape(p.deny.describe())}</code>", escape(p.status),
          escape(governance.origins.get(f"policy:{p.id}", ""))) for p in governance.policies),
    )  # fmt: skip


def _labels(governance: Governance) -> str:
    return _table(
        ("label", "category", "name", "meaning", "origin"),
        ((f"<code>{escape(label.code)}</code>", escape(label.category), escape(label.name),
          escape(label.description), escape(governance.origins.get(f"label:{label.code}", "")))
         for label in governance.labels.values()),
    )  # fmt: skip


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
    notes_html = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>partnerkit steward report</title>
<style>{STYLE}</style></head><body>
<h1>Steward report</h1>
<p>Generated {escape(generated_at.isoformat(timespec="seconds"))}:
<span class="{"error" if errors else "ok"}">{errors} error(s)</span>,
<span class="warning">{warnings} warning(s)</span>.</p>
{f"<ul>{notes_html}</ul>" if notes else ""}
<h2>Findings</h2>{_findings(findings)}
<h2>Datasets and their labels</h2>{_datasets(datasets)}
<h2>Fields and their labels</h2>{_fields(fields)}
<h2>Policies</h2>{_policies(governance)}
<h2>Labels</h2>{_labels(governance)}
</body></html>
"""
