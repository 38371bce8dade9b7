"""A partner's validation index: every batch's quality gate, readable without a network.

Great Expectations' own Data Docs index builds its table with scripts from public CDNs, so on
a machine without internet access (common where personal data is processed) it lists nothing.
This page is built from the ledger instead, with no script or external resource, and links
each batch's validation page, whose results are static HTML (unstyled when offline).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ingest.ledger import BatchRecord
from jobs.reports.html import Markup, element, page, table
from jobs.warehouse.paths import replace_text


def page_path(docs_root: Path, partner: str) -> Path:
    """Beside the partner's Data Docs site, not in it: GX reads every file of its site folder
    as one of its own and fails on any other."""
    return docs_root / f"{partner}.html"


def gate_text(counts: dict) -> str:
    gate = counts.get("gate")
    if not gate:
        return "-"
    verdict = "passed" if gate["success"] else "failed"
    return f"{verdict} ({gate['evaluated']} expectations)"


def validation_link(counts: dict, folder: Path) -> Markup | str:
    target = counts.get("validation_page")
    if not target:
        return "-"
    return element("a", "validation page", href=os.path.relpath(target, folder))


def validations_html(partner: str, batches: Sequence[BatchRecord], folder: Path) -> str:
    """The page, written in `folder` (links are relative to it), newest batch first."""
    rows = [
        [
            b.started_at,
            b.batch_id,
            b.status + (f" of {b.duplicate_of}" if b.duplicate_of else ""),
            *(b.counts.get(k, "-") for k in ("input_rows", "accepted_rows", "quarantined_rows")),
            ", ".join(f"{r} {n:,}" for r, n in b.counts.get("quarantined_by_reason", {}).items())
            or "-",
            gate_text(b.counts),
            validation_link(b.counts, folder),
            b.source_uri,
        ]
        for b in batches
    ]
    headers = (
        "started",
        "batch",
        "status",
        "input",
        "accepted",
        "quarantined",
        "quarantined by reason",
        "quality gate",
        "Great Expectations",
        "source",
    )
    return page(
        f"partnerkit: {partner} deliveries and their validation",
        element("h1", f"{partner}: every delivered file and its quality gate"),
        element(
            "p",
            "Built from the ledger; no scripts, nothing fetched. The validation pages are Great "
            "Expectations' own: offline their results are readable but unstyled.",
        ),
        table(headers, rows) if rows else element("p", "No delivered file yet."),
    )


def write_validations_page(partner: str, batches: Sequence[BatchRecord], docs_root: Path) -> Path:
    target = page_path(docs_root, partner)
    replace_text(target, validations_html(partner, batches, docs_root))
    return target
