"""A partner's history from the ledger: each match run's rates, each delivery's rows, drift.

Nothing here reads the warehouse: match runs and deliveries record their figures in the ledger
as they finish, so the history of a year of monthly deliveries is a few SQLite rows.
"""

from __future__ import annotations

from typing import Any

from ingest.ledger import Delivery, Ledger, RunRecord
from jobs.config import MonitoringSettings

MATCH_JOB = "match"


def match_point(run: RunRecord, partner: str) -> dict[str, Any] | None:
    """One succeeded match run's figures for the partner, or None if it did not match it."""
    stats = run.counts.get(partner)
    if run.status != "succeeded" or not isinstance(stats, dict) or "rate" not in stats:
        return None
    return point_of(stats, workflow_id=run.workflow_id, started_at=run.started_at)


def point_of(stats: dict[str, Any], *, workflow_id: str, started_at: str) -> dict[str, Any]:
    """The figures the history keeps of one partner's match statistics."""
    return {
        "workflow_id": workflow_id,
        "started_at": started_at,
        "requested": stats.get("requested", 0),
        "resolved": stats.get("resolved", 0),
        "rate": stats.get("rate", 0.0),
        "by_identifier": {
            name: figures.get("rate", 0.0)
            for name, figures in stats.get("by_identifier", {}).items()
        },
        "new": stats.get("new"),
        "lost": stats.get("lost"),
        "delivery": stats.get("delivery"),
    }


def match_history(ledger: Ledger, partner: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The partner's match runs, oldest first."""
    points = (match_point(run, partner) for run in ledger.runs(job=MATCH_JOB, limit=limit * 4))
    return sorted((p for p in points if p), key=lambda p: p["started_at"])[-limit:]


def delivery_point(delivery: Delivery) -> dict[str, Any]:
    """One delivery's rows in, accepted, quarantined (by reason) and its files' gate results."""
    files = delivery.files
    totals = {
        key: sum(int(f.counts.get(key, 0)) for f in files)
        for key in ("input_rows", "accepted_rows", "quarantined_rows")
    }
    by_reason: dict[str, int] = {}
    for record in files:
        for reason, count in record.counts.get("quarantined_by_reason", {}).items():
            by_reason[reason] = by_reason.get(reason, 0) + int(count)
    gates = [f.counts["gate"] for f in files if "gate" in f.counts]
    share = totals["quarantined_rows"] / totals["input_rows"] if totals["input_rows"] else 0.0
    return {
        "workflow_id": delivery.workflow_id,
        "started_at": delivery.started_at,
        "kind": delivery.kind,
        "status": delivery.status,
        "files": len(files),
        **totals,
        "quarantined_share": round(share, 4),
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "gate": {
            "passed": sum(1 for g in gates if g.get("success")),
            "failed": sum(1 for g in gates if not g.get("success")),
        },
        "data_docs": sorted({str(f.counts["data_docs"]) for f in files if "data_docs" in f.counts}),
    }


def delivery_history(ledger: Ledger, partner: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The partner's deliveries, oldest first."""
    found = ledger.deliveries(partner=partner, limit=limit)
    return sorted((delivery_point(d) for d in found), key=lambda p: p["started_at"])


def match_drift(
    previous: dict[str, Any] | None, current: dict[str, Any], settings: MonitoringSettings
) -> list[str]:
    """Warnings when a match rate (overall or per identifier) fell more than allowed since
    the partner's previous match run."""
    if previous is None or settings.max_rate_drop is None:
        return []
    pairs = [("overall", previous["rate"], current["rate"])]
    for name, rate in sorted(current["by_identifier"].items()):
        if name in previous["by_identifier"]:
            pairs.append((name, previous["by_identifier"][name], rate))
    return [
        f"{name} match rate fell from {before:.2%} to {after:.2%} "
        f"(more than {settings.max_rate_drop:.0%} points)"
        for name, before, after in pairs
        if before - after > settings.max_rate_drop
    ]


def delivery_drift(
    previous: dict[str, Any] | None, current: dict[str, Any], settings: MonitoringSettings
) -> list[str]:
    """A warning when the share of quarantined rows rose more than allowed since the
    partner's previous published delivery."""
    if previous is None or settings.max_quarantine_rise is None:
        return []
    before, after = previous["quarantined_share"], current["quarantined_share"]
    if after - before <= settings.max_quarantine_rise:
        return []
    return [
        f"the quarantined share rose from {before:.2%} to {after:.2%} "
        f"(more than {settings.max_quarantine_rise:.0%} points)"
    ]
