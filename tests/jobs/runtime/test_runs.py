"""Runs get a workflow_id that the ledger records and every log line carries."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ingest.ledger import Ledger
from jobs.errors import ConfigError
from jobs.runtime.runs import WorkflowIdFilter, current_workflow_id, record_run, submit_in_context


def test_record_run_marks_success_with_counts(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    with record_run(ledger, "generate") as run:
        run.counts["rows"] = 5
        assert current_workflow_id.get() == run.workflow_id
    assert current_workflow_id.get() == "-"
    (record,) = ledger.runs()
    assert (record.workflow_id, record.status, record.counts) == (
        run.workflow_id,
        "succeeded",
        {"rows": 5},
    )
    assert run.result().counts == {"rows": 5}


def test_record_run_marks_failure_and_reraises(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    with pytest.raises(ConfigError):
        with record_run(ledger, "match"):
            raise ConfigError("partnerkit.yaml", ["partners[0].hash: bad"])
    (record,) = ledger.runs()
    assert record.status == "failed"
    assert record.error is not None and "partners[0].hash" in record.error


def test_record_run_keeps_foreign_error_text_out_of_ledger(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    with pytest.raises(RuntimeError):
        with record_run(ledger, "match"):
            raise RuntimeError("[CAST_INVALID_INPUT] The value 'jane@example.com' cannot be cast")
    (record,) = ledger.runs()
    assert record.error is not None
    assert "jane@example.com" not in record.error
    assert record.error.startswith("RuntimeError")


def test_workflow_id_filter_stamps_log_records(tmp_path: Path) -> None:
    record = logging.LogRecord("ingest.x", logging.INFO, __file__, 1, "hello", None, None)
    with record_run(Ledger(tmp_path / "ledger.sqlite"), "generate") as run:
        WorkflowIdFilter().filter(record)
    assert record.workflow_id == run.workflow_id  # type: ignore[attr-defined]


def test_work_moved_to_a_thread_keeps_the_runs_workflow_id(tmp_path: Path) -> None:
    with ThreadPoolExecutor(1) as pool, record_run(Ledger(tmp_path / "l.sqlite"), "x") as run:
        plain = pool.submit(current_workflow_id.get).result()
        carried = submit_in_context(pool, current_workflow_id.get).result()
    assert (plain, carried) == ("-", run.workflow_id)
