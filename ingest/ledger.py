"""The SQLite ledger: one row per job run, plus audit events, keyed by workflow_id."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

logger = logging.getLogger(__name__)

RUNS_TABLE = "runs"
EVENTS_TABLE = "events"

RUN_STATUSES = ("running", "succeeded", "failed")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    workflow_id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    status TEXT NOT NULL CHECK (status IN {RUN_STATUSES}),
    counts TEXT NOT NULL DEFAULT '{{}}',
    error TEXT
);
CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS events_by_workflow ON {EVENTS_TABLE} (workflow_id);
"""


class RunRecord(BaseModel):
    """One job run as the ledger holds it."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    job: str
    started_at: str
    ended_at: str | None
    status: str
    counts: dict[str, Any]
    error: str | None


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with milliseconds, sortable as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Ledger:
    """A SQLite file recording runs and audit events; safe to open from several processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            connection.row_factory = sqlite3.Row
            with connection:
                yield connection

    def start_run(self, workflow_id: str, job: str) -> None:
        """Record that a job run began."""
        with self._connect() as connection:
            connection.execute(
                f"INSERT INTO {RUNS_TABLE} (workflow_id, job, started_at, status)"
                " VALUES (?, ?, ?, 'running')",
                (workflow_id, job, utc_now()),
            )

    def finish_run(
        self,
        workflow_id: str,
        *,
        status: str,
        counts: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record how a run ended, with its counts (and an error text without row values)."""
        if status not in RUN_STATUSES:
            raise ValueError(f"run status must be one of {RUN_STATUSES}, got {status!r}")
        with self._connect() as connection:
            connection.execute(
                f"UPDATE {RUNS_TABLE} SET ended_at = ?, status = ?, counts = ?, error = ?"
                " WHERE workflow_id = ?",
                (
                    utc_now(),
                    status,
                    json.dumps(dict(counts or {}), sort_keys=True),
                    error,
                    workflow_id,
                ),
            )

    def record_event(self, workflow_id: str, kind: str, payload: Mapping[str, Any]) -> None:
        """Append an audit event (a policy evaluation, a quarantine summary...) to a run."""
        with self._connect() as connection:
            connection.execute(
                f"INSERT INTO {EVENTS_TABLE} (workflow_id, at, kind, payload) VALUES (?, ?, ?, ?)",
                (workflow_id, utc_now(), kind, json.dumps(dict(payload), sort_keys=True)),
            )

    def runs(self, *, job: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The most recent runs first."""
        query = f"SELECT * FROM {RUNS_TABLE}"
        params: tuple[Any, ...] = ()
        if job:
            query += " WHERE job = ?"
            params = (job,)
        query += " ORDER BY started_at DESC, rowid DESC LIMIT ?"
        with self._connect() as connection:
            rows = connection.execute(query, (*params, limit)).fetchall()
        return [RunRecord(**{**dict(row), "counts": json.loads(row["counts"])}) for row in rows]

    def events(self, workflow_id: str) -> list[dict[str, Any]]:
        """A run's audit events in the order they happened."""
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM {EVENTS_TABLE} WHERE workflow_id = ? ORDER BY event_id",
                (workflow_id,),
            ).fetchall()
        return [{**dict(row), "payload": json.loads(row["payload"])} for row in rows]
