"""The SQLite ledger records runs and audit events."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.ledger import Ledger


def test_ledger_records_run_start_and_finish_with_counts(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "nested" / "ledger.sqlite")
    ledger.start_run("wf-1", "generate")
    assert ledger.runs()[0].status == "running"
    ledger.finish_run("wf-1", status="succeeded", counts={"seeds": 10, "universe": 40})
    (run,) = ledger.runs()
    assert (run.workflow_id, run.job, run.status) == ("wf-1", "generate", "succeeded")
    assert run.counts == {"seeds": 10, "universe": 40}
    assert run.ended_at is not None and run.ended_at >= run.started_at


def test_ledger_lists_newest_first_and_filters_by_job(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for number, job in enumerate(["generate", "match", "generate"]):
        ledger.start_run(f"wf-{number}", job)
    assert [run.workflow_id for run in ledger.runs()] == ["wf-2", "wf-1", "wf-0"]
    assert [run.workflow_id for run in ledger.runs(job="generate")] == ["wf-2", "wf-0"]


def test_ledger_keeps_events_in_order_per_workflow(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.record_event("wf-1", "policy_evaluation", {"allowed": False})
    ledger.record_event("wf-2", "other", {})
    ledger.record_event("wf-1", "quarantine", {"rows": 3})
    kinds = [event["kind"] for event in ledger.events("wf-1")]
    assert kinds == ["policy_evaluation", "quarantine"]
    assert ledger.events("wf-1")[1]["payload"] == {"rows": 3}


def test_ledger_rejects_unknown_status(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.start_run("wf-1", "generate")
    with pytest.raises(ValueError, match="run status must be one of"):
        ledger.finish_run("wf-1", status="done")


def test_ledger_survives_reopening(tmp_path: Path) -> None:
    Ledger(tmp_path / "ledger.sqlite").start_run("wf-1", "generate")
    assert Ledger(tmp_path / "ledger.sqlite").runs()[0].workflow_id == "wf-1"


def test_batches_group_into_deliveries_with_the_reason_one_was_not_published(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for workflow, outcomes in (
        ("wf-1", ["loaded", "duplicate"]),
        ("wf-2", ["unpublished", "failed"]),
    ):
        for number, status in enumerate(outcomes):
            batch = f"{workflow}-{number}"
            ledger.start_batch(
                batch_id=batch,
                partner="acme",
                source_uri=f"part-{number}.csv",
                size_bytes=10,
                checksum=f"sum-{batch}",
                workflow_id=workflow,
            )
            ledger.finish_batch(batch, status=status, counts={"input_rows": 10})
    found = ledger.deliveries(partner="acme")
    assert [(d.workflow_id, d.status, len(d.files)) for d in found] == [
        ("wf-2", "failed", 2),
        ("wf-1", "published", 2),
    ]
    assert ledger.deliveries(partner="other") == []


def test_a_ledger_from_before_delivery_kinds_keeps_its_batches_as_full(tmp_path: Path) -> None:
    """A version-2 ledger (no `kind` column) opens with its batches marked full deliveries."""
    import sqlite3

    from ingest.ledger import _SCHEMA

    path = tmp_path / "ledger.sqlite"
    older = _SCHEMA.replace(",\n    kind TEXT NOT NULL DEFAULT 'full'", "")
    assert older != _SCHEMA
    with sqlite3.connect(path) as connection:
        connection.executescript(older)
        connection.execute(
            "INSERT INTO batches (batch_id, partner, source_uri, size_bytes, checksum,"
            " started_at, status, workflow_id) VALUES"
            " ('b1', 'acme', 'f.csv', 1, 'c', '2026-11-01T00:00:00', 'loaded', 'w1')"
        )
        connection.execute("PRAGMA user_version = 2")
    ledger = Ledger(path)
    (record,) = ledger.batches(partner="acme")
    assert record.kind == "full"
    assert ledger.loaded_batch("acme", "c") == "b1"
    assert ledger.loaded_batch("acme", "c", "delta") is None


def test_a_claim_kept_if_committed_is_a_leftover_only_of_a_run_that_never_committed(
    tmp_path: Path,
) -> None:
    """A version-3 ledger's claims (no `kept_if_committed`) stay leftovers either way; a claim
    kept if committed (a forget's removal files) is one only of a run that did not commit."""
    import sqlite3

    from ingest.ledger import _SCHEMA

    path = tmp_path / "ledger.sqlite"
    older = _SCHEMA.replace(",\n    kept_if_committed INTEGER NOT NULL DEFAULT 0", "")
    assert older != _SCHEMA
    with sqlite3.connect(path) as connection:
        connection.executescript(older)
        connection.execute("INSERT INTO run_paths (workflow_id, path) VALUES ('w0', '/old')")
        connection.execute("PRAGMA user_version = 3")
    ledger = Ledger(path)
    assert ledger.claimed_paths("w0", committed=True) == ["/old"]
    ledger.claim_path("w1", "/scratch")
    ledger.claim_path("w1", "/reports/forget/w1", kept_if_committed=True)
    assert ledger.claimed_paths("w1") == ["/reports/forget/w1", "/scratch"]
    assert ledger.claimed_paths("w1", committed=True) == ["/scratch"]
