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

BATCHES_TABLE = "batches"

RUN_STATUSES = ("running", "succeeded", "failed")
BATCH_STATUSES = ("running", "loaded", "failed", "duplicate")

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
CREATE TABLE IF NOT EXISTS {BATCHES_TABLE} (
    batch_id TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    source_uri TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN {BATCH_STATUSES}),
    counts TEXT NOT NULL DEFAULT '{{}}',
    error TEXT,
    duplicate_of TEXT,
    workflow_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_checksum ON {BATCHES_TABLE} (partner, checksum, status);
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


class BatchRecord(BaseModel):
    """One delivered file as the ledger holds it."""

    model_config = ConfigDict(frozen=True)

    batch_id: str
    partner: str
    source_uri: str
    size_bytes: int
    checksum: str
    started_at: str
    finished_at: str | None
    status: str
    counts: dict[str, Any]
    error: str | None
    duplicate_of: str | None
    workflow_id: str


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

    def _newest(
        self, table: str, column: str, value: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Rows of a ledger table, newest first, optionally where `column = value`."""
        where = f" WHERE {column} = ?" if value else ""
        params: tuple[Any, ...] = (value,) if value else ()
        query = f"SELECT * FROM {table}{where} ORDER BY started_at DESC, rowid DESC LIMIT ?"
        with self._connect() as connection:
            rows = connection.execute(query, (*params, limit)).fetchall()
        return [{**dict(row), "counts": json.loads(row["counts"])} for row in rows]

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
        rows = self._newest(RUNS_TABLE, "job", job, limit)
        return [RunRecord(**row) for row in rows]

    def events(self, workflow_id: str) -> list[dict[str, Any]]:
        """A run's audit events in the order they happened."""
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM {EVENTS_TABLE} WHERE workflow_id = ? ORDER BY event_id",
                (workflow_id,),
            ).fetchall()
        return [{**dict(row), "payload": json.loads(row["payload"])} for row in rows]

    def start_batch(
        self,
        *,
        batch_id: str,
        partner: str,
        source_uri: str,
        size_bytes: int,
        checksum: str,
        workflow_id: str,
        status: str = "running",
        duplicate_of: str | None = None,
    ) -> None:
        """Record a file delivery the moment its checksum is known."""
        if status not in BATCH_STATUSES:
            raise ValueError(f"batch status must be one of {BATCH_STATUSES}, got {status!r}")
        with self._connect() as connection:
            connection.execute(
                f"INSERT INTO {BATCHES_TABLE} (batch_id, partner, source_uri, size_bytes,"
                " checksum, started_at, finished_at, status, duplicate_of, workflow_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch_id,
                    partner,
                    source_uri,
                    size_bytes,
                    checksum,
                    utc_now(),
                    None if status == "running" else utc_now(),
                    status,
                    duplicate_of,
                    workflow_id,
                ),
            )

    def finish_batch(
        self,
        batch_id: str,
        *,
        status: str,
        counts: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        if status not in BATCH_STATUSES:
            raise ValueError(f"batch status must be one of {BATCH_STATUSES}, got {status!r}")
        with self._connect() as connection:
            connection.execute(
                f"UPDATE {BATCHES_TABLE} SET finished_at = ?, status = ?, counts = ?, error = ?"
                " WHERE batch_id = ?",
                (
                    utc_now(),
                    status,
                    json.dumps(dict(counts or {}), sort_keys=True),
                    error,
                    batch_id,
                ),
            )

    def loaded_batch(self, partner: str, checksum: str) -> str | None:
        """The batch that already loaded this exact file content for this partner, if any."""
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT batch_id FROM {BATCHES_TABLE}"
                " WHERE partner = ? AND checksum = ? AND status = 'loaded'"
                " ORDER BY started_at LIMIT 1",
                (partner, checksum),
            ).fetchone()
        return row["batch_id"] if row else None

    def batches(self, *, partner: str | None = None, limit: int = 100) -> list[BatchRecord]:
        """The most recent batches first."""
        rows = self._newest(BATCHES_TABLE, "partner", partner, limit)
        return [BatchRecord(**row) for row in rows]

    def current_batches(self, partner: str) -> list[str]:
        """The batches of the latest ingest run that loaded any: the partner's current universe.

        Deliveries are full refreshes: a new delivery (one `partnerkit ingest` of its files)
        replaces the previous one for matching, while older batches stay on disk for audit.
        """
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT batch_id FROM {BATCHES_TABLE} WHERE partner = ? AND status = 'loaded'"
                f" AND workflow_id = (SELECT workflow_id FROM {BATCHES_TABLE}"
                "   WHERE partner = ? AND status = 'loaded' ORDER BY started_at DESC LIMIT 1)"
                " ORDER BY batch_id",
                (partner, partner),
            ).fetchall()
        return [row["batch_id"] for row in rows]
