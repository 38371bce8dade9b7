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

RUN_PATHS_TABLE = "run_paths"

# `abandoned`: the run's process died (killed, lost its machine); the next writer found it.
RUN_STATUSES = ("running", "succeeded", "failed", "abandoned")
# `checked`: passed its checks, waiting for the rest of its delivery. `loaded`: published with
# its delivery. `unpublished`: checked, but another file of the delivery failed, so the
# delivery was not published. `duplicate`: the same bytes as a loaded batch, whose rows the
# delivery takes instead of loading them again.
BATCH_STATUSES = (
    "running",
    "checked",
    "loaded",
    "failed",
    "duplicate",
    "unpublished",
    "abandoned",
)
# 2: `abandoned` and `unpublished` statuses, run_paths; 3: batch kind; 4: kept_if_committed
SCHEMA_VERSION = 4

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
    workflow_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'full'
);
CREATE INDEX IF NOT EXISTS batches_by_checksum ON {BATCHES_TABLE} (partner, checksum, status);
CREATE TABLE IF NOT EXISTS {RUN_PATHS_TABLE} (
    workflow_id TEXT NOT NULL,
    path TEXT NOT NULL,
    kept_if_committed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workflow_id, path)
);
"""

# Version 1 ledgers: the status CHECKs are rebuilt with the new statuses, rows kept.
_STATUS_TABLES = (RUNS_TABLE, BATCHES_TABLE)


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
    kind: str = "full"  # full: the file is (part of) the universe; delta: changes to it


class Delivery(BaseModel):
    """The files one ingest run delivered for a partner, published together or not at all."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    partner: str
    started_at: str
    status: str
    kind: str
    files: list[BatchRecord]


def delivery_status(files: list[BatchRecord]) -> str:
    """`published` when every file loaded (or was a duplicate of a loaded one); otherwise the
    reason it was not: `running`, `abandoned` (its run died), `failed` or `unpublished`."""
    statuses = {record.status for record in files}
    if statuses & {"running", "checked"}:
        return "running"
    for status in ("abandoned", "failed", "unpublished"):
        if status in statuses:
            return status
    return "published"


def deliveries(records: list[BatchRecord]) -> list[Delivery]:
    """Batches grouped by the ingest run that delivered them, in the order first seen."""
    grouped: dict[tuple[str, str], list[BatchRecord]] = {}
    for record in records:
        grouped.setdefault((record.workflow_id, record.partner), []).append(record)
    return [
        Delivery(
            workflow_id=workflow_id,
            partner=partner,
            started_at=min(f.started_at for f in files),
            status=delivery_status(files),
            kind=files[0].kind,
            files=sorted(files, key=lambda f: f.started_at),
        )
        for (workflow_id, partner), files in grouped.items()
    ]


def _migrate(connection: sqlite3.Connection) -> None:
    """Add the batches' `kind` column to older ledgers (their batches were full deliveries),
    then rebuild tables whose status CHECK predates the current statuses, keeping their rows."""
    columns = {row[1] for row in connection.execute(f"PRAGMA table_info({BATCHES_TABLE})")}
    if columns and "kind" not in columns:
        connection.execute(
            f"ALTER TABLE {BATCHES_TABLE} ADD COLUMN kind TEXT NOT NULL DEFAULT 'full'"
        )
    claims = {row[1] for row in connection.execute(f"PRAGMA table_info({RUN_PATHS_TABLE})")}
    if claims and "kept_if_committed" not in claims:
        connection.execute(
            f"ALTER TABLE {RUN_PATHS_TABLE} ADD COLUMN kept_if_committed INTEGER NOT NULL DEFAULT 0"
        )
    for table in _STATUS_TABLES:
        row = connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if row is None or "'abandoned'" in row[0]:
            continue
        connection.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
        connection.executescript(_SCHEMA)
        connection.execute(f"INSERT INTO {table} SELECT * FROM {table}_old")
        connection.execute(f"DROP TABLE {table}_old")


# Batch kinds whose rows make up a partner's universe (an `optout` batch never does).
UNIVERSE_KINDS = ("full", "delta")


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with milliseconds, sortable as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Ledger:
    """A SQLite file recording runs and audit events; safe to open from several processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                _migrate(connection)
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
        kind: str = "full",
    ) -> None:
        """Record a file delivery the moment its checksum is known."""
        if status not in BATCH_STATUSES:
            raise ValueError(f"batch status must be one of {BATCH_STATUSES}, got {status!r}")
        with self._connect() as connection:
            connection.execute(
                f"INSERT INTO {BATCHES_TABLE} (batch_id, partner, source_uri, size_bytes,"
                " checksum, started_at, finished_at, status, duplicate_of, workflow_id, kind)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    kind,
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

    def loaded_batch(self, partner: str, checksum: str, kind: str = "full") -> str | None:
        """The batch that already loaded this exact file content for this partner as the same
        kind of delivery (a full file's rows are a universe, a delta's are changes), if any."""
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT batch_id FROM {BATCHES_TABLE}"
                " WHERE partner = ? AND checksum = ? AND status = 'loaded' AND kind = ?"
                " ORDER BY started_at LIMIT 1",
                (partner, checksum, kind),
            ).fetchone()
        return row["batch_id"] if row else None

    def batches(self, *, partner: str | None = None, limit: int = 100) -> list[BatchRecord]:
        """The most recent batches first."""
        rows = self._newest(BATCHES_TABLE, "partner", partner, limit)
        return [BatchRecord(**row) for row in rows]

    def deliveries(
        self,
        *,
        partner: str | None = None,
        limit: int = 20,
        kinds: tuple[str, ...] | None = UNIVERSE_KINDS,
    ) -> list[Delivery]:
        """The newest `limit` deliveries, newest first, each with all of its files; by default
        those of the universe (full, delta), `kinds=None` for opt-out deliveries too."""
        conditions = (["partner = ?"] if partner else []) + (
            [f"kind IN ({', '.join('?' * len(kinds))})"] if kinds else []
        )
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        params: tuple[Any, ...] = ((partner,) if partner else ()) + tuple(kinds or ())
        query = (
            f"SELECT * FROM {BATCHES_TABLE} WHERE workflow_id IN (SELECT workflow_id FROM"
            f" {BATCHES_TABLE}{where} GROUP BY workflow_id ORDER BY MAX(started_at) DESC"
            " LIMIT ?) ORDER BY started_at DESC, rowid DESC"
        )
        with self._connect() as connection:
            rows = connection.execute(query, (*params, limit)).fetchall()
        records = [BatchRecord(**{**dict(r), "counts": json.loads(r["counts"])}) for r in rows]
        return deliveries(records)

    def latest_delivery(self, partner: str) -> list[BatchRecord]:
        """The batches of the partner's newest ingest run (its newest delivery attempt)."""
        newest = self.deliveries(partner=partner, limit=1)
        return newest[0].files if newest else []

    def running_runs(self) -> list[RunRecord]:
        """Runs the ledger still calls running: alive, or killed before they could say so."""
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM {RUNS_TABLE} WHERE status = 'running' ORDER BY started_at"
            ).fetchall()
        return [RunRecord(**{**dict(row), "counts": json.loads(row["counts"])}) for row in rows]

    def abandon_run(self, workflow_id: str, *, left: Mapping[str, Any]) -> None:
        """Mark a dead run and its unfinished batches abandoned, with what it left behind."""
        with self._connect() as connection:
            connection.execute(
                f"UPDATE {RUNS_TABLE} SET ended_at = ?, status = 'abandoned', error = ?"
                " WHERE workflow_id = ? AND status = 'running'",
                (utc_now(), json.dumps(dict(left), sort_keys=True), workflow_id),
            )
            connection.execute(
                f"UPDATE {BATCHES_TABLE} SET finished_at = ?, status = 'abandoned'"
                " WHERE workflow_id = ? AND status IN ('running', 'checked')",
                (utc_now(), workflow_id),
            )

    def claim_path(self, workflow_id: str, path: str, *, kept_if_committed: bool = False) -> None:
        """Record, before it is created, a folder or file a run may leave behind if killed
        (`kept_if_committed`: an output of the run, a leftover only if it never committed)."""
        with self._connect() as connection:
            connection.execute(
                f"INSERT OR IGNORE INTO {RUN_PATHS_TABLE} (workflow_id, path, kept_if_committed)"
                " VALUES (?, ?, ?)",
                (workflow_id, path, int(kept_if_committed)),
            )

    def claimed_paths(self, workflow_id: str, *, committed: bool = False) -> list[str]:
        """A run's claimed paths; of a run that committed, those not kept by the commit."""
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT path FROM {RUN_PATHS_TABLE} WHERE workflow_id = ?"
                " AND (kept_if_committed = 0 OR ? = 0) ORDER BY path",
                (workflow_id, int(committed)),
            ).fetchall()
        return [row["path"] for row in rows]

    def release_paths(self, workflow_id: str) -> None:
        """Forget a run's claimed paths once they are removed or committed."""
        with self._connect() as connection:
            connection.execute(
                f"DELETE FROM {RUN_PATHS_TABLE} WHERE workflow_id = ?", (workflow_id,)
            )

    def publish_batches(self, workflow_id: str) -> None:
        """A delivery was published: its checked batches become loaded."""
        self._set_batches(workflow_id, "loaded")

    def unpublish_batches(self, workflow_id: str) -> None:
        """A delivery was not published: its checked batches say so (their counts stay)."""
        self._set_batches(workflow_id, "unpublished")

    def _set_batches(self, workflow_id: str, status: str) -> None:
        with self._connect() as connection:
            connection.execute(
                f"UPDATE {BATCHES_TABLE} SET status = ?"
                " WHERE workflow_id = ? AND status = 'checked'",
                (status, workflow_id),
            )
