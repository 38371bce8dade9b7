"""Committed table versions: what one job run writes becomes visible together, in one step.

Under the warehouse:
    <unit>/v-<workflow_id>/           one version of a table unit (`profiles`,
                                      `matches/partner=acme`, `segments/gold` ...)
    partner/<p>/batch_id=<id>/        a partner's checked batches; a delivery names several
    _commits/<sequence>.json          each commit: the units one run changed, and to what
    _commits/current.json             the commit point: every unit's current version

A job writes new versions beside the old ones and, when it succeeds, writes its commit record
and then replaces `current.json` (a rename locally; one PUT on an object store, which is
atomic and read-after-write consistent). Readers resolve every table through `current.json`,
so they see each unit entirely old or entirely new. Only the one writer (see
`jobs.runtime.locks`) commits, so the read-modify-replace of `current.json` has no race.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pyspark.sql import SparkSession

from ingest.ledger import utc_now
from jobs.warehouse.paths import inside, remove, replace_text

logger = logging.getLogger(__name__)

COMMITS_FOLDER = "_commits"
CURRENT = "current.json"
VERSION_PREFIX = "v-"
_publishing = threading.Lock()  # runs on two threads of the one writer commit in turn


class TableEntry(BaseModel):
    """A unit's committed version: its folders (relative to the unit) and who wrote them."""

    folders: list[str]
    workflow_id: str
    job: str
    committed_at: str
    details: dict[str, Any] = Field(default_factory=dict)


class Manifest(BaseModel):
    """`current.json`: the sequence number of the last commit and every unit's version."""

    format: int = 1
    sequence: int = 0
    committed_at: str | None = None
    tables: dict[str, TableEntry] = Field(default_factory=dict)


class CommitRecord(BaseModel):
    """`_commits/<sequence>.json`: what one run changed (kept for audit, vacuum and erasure)."""

    sequence: int
    workflow_id: str
    job: str
    committed_at: str
    tables: dict[str, TableEntry]


def unit_name(table: str, partner: str | None = None) -> str:
    """A table, or one partner's partition of it (`matches/partner=acme`)."""
    return f"{table}/partner={partner}" if partner else table


class Store:
    """The warehouse's files: a local folder, or any Hadoop URI through Spark's JVM."""

    def __init__(self, warehouse: str, spark: SparkSession | None = None) -> None:
        self.root = warehouse.rstrip("/")
        self.local = "://" not in self.root or self.root.startswith("file://")
        self.spark = spark
        if not self.local and spark is None:
            raise ValueError(f"{warehouse}: a SparkSession is needed to reach this warehouse")

    def uri(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def path(self, relative: str) -> Path:
        return Path(self.root.removeprefix("file://")) / relative

    def _fs(self, relative: str) -> tuple[Any, Any]:
        assert self.spark is not None
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        hadoop_path = jvm.org.apache.hadoop.fs.Path(self.uri(relative))
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        return hadoop_path.getFileSystem(conf), hadoop_path

    def read_text(self, relative: str) -> str | None:
        if self.local:
            path = self.path(relative)
            return path.read_text(encoding="utf-8") if path.is_file() else None
        fs, path = self._fs(relative)
        if not fs.exists(path):
            return None
        stream = fs.open(path)
        try:
            jvm = self.spark.sparkContext._jvm  # type: ignore[union-attr]
            return jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()

    def write_text(self, relative: str, text: str) -> None:
        """Replace a small file so readers see the old content or the new, never part."""
        if self.local:
            replace_text(self.path(relative), text)
            return
        fs, path = self._fs(relative)
        stream = fs.create(path, True)  # an object store makes it visible whole, at close
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def names(self, relative: str) -> list[str]:
        """The visible entries of a folder (not `.` files: checksums, half-written copies)."""
        if self.local:
            folder = self.path(relative)
            found = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        else:
            fs, path = self._fs(relative)
            found = [s.getPath().getName() for s in fs.listStatus(path)] if fs.exists(path) else []
        return sorted(name for name in found if not name.startswith("."))

    def remove(self, relative: str) -> None:
        if self.local:
            remove(self.path(relative), [self.path("")])
            return
        fs, path = self._fs(relative)
        fs.delete(path, True)


def read_manifest(warehouse: str, spark: SparkSession | None = None) -> Manifest:
    """The committed state of every table (empty before the first commit)."""
    text = Store(warehouse, spark).read_text(f"{COMMITS_FOLDER}/{CURRENT}")
    return Manifest.model_validate_json(text) if text else Manifest()


def committed_uris(warehouse: str, unit: str, spark: SparkSession | None = None) -> list[str]:
    """The folders of a unit's committed version, as paths or URIs ([] when never committed)."""
    entry = read_manifest(warehouse, spark).tables.get(unit)
    if entry is None:
        return []
    store = Store(warehouse, spark)
    return [
        str(store.path(f"{unit}/{f}")) if store.local else store.uri(f"{unit}/{f}")
        for f in entry.folders
    ]


class PendingCommit:
    """One run's new table versions, visible to readers only once `publish` succeeds."""

    def __init__(
        self, warehouse: str, *, workflow_id: str, job: str, spark: SparkSession | None = None
    ) -> None:
        self.store = Store(warehouse, spark)
        self.workflow_id = workflow_id
        self.job = job
        self.staged: dict[str, TableEntry] = {}

    def version_folder(self, unit: str) -> str:
        """Where this run writes its version of a unit (claim it before writing)."""
        relative = f"{unit}/{VERSION_PREFIX}{self.workflow_id}"
        if not self.store.local:
            return self.store.uri(relative)
        # A table folder that is a link elsewhere would put the version outside the warehouse.
        inside(self.store.path(relative), [self.store.path("")])
        return str(self.store.path(relative))

    def unit_location(self, unit: str) -> str:
        """The unit's folder (the dataset its versions are versions of), as a path or URI."""
        return str(self.store.path(unit)) if self.store.local else self.store.uri(unit)

    def stage(self, unit: str, folders: list[str], **details: Any) -> None:
        """Make `folders` (relative to the unit) the unit's version when this run commits."""
        self.staged[unit] = TableEntry(
            folders=folders,
            workflow_id=self.workflow_id,
            job=self.job,
            committed_at="",
            details=details,
        )

    def stage_version(self, unit: str, **details: Any) -> None:
        self.stage(unit, [f"{VERSION_PREFIX}{self.workflow_id}"], **details)

    def unstage(self, unit: str) -> None:
        """Drop a version this run wrote and will not commit after all (its folders too)."""
        entry = self.staged.pop(unit)
        for folder in entry.folders:
            self.store.remove(f"{unit}/{folder}")

    def staged_uris(self, unit: str) -> list[str] | None:
        """The folders this run staged for a unit (a job reading what it just wrote)."""
        entry = self.staged.get(unit)
        if entry is None:
            return None
        local = self.store.local
        return [
            str(self.store.path(f"{unit}/{f}")) if local else self.store.uri(f"{unit}/{f}")
            for f in entry.folders
        ]

    def publish(self) -> int | None:
        """Write the commit record, then replace `current.json`: the one atomic step.

        Returns the new sequence number, or None when the run staged nothing.
        """
        if not self.staged:
            return None
        with _publishing:
            return self._publish()

    def _publish(self) -> int:
        text = self.store.read_text(f"{COMMITS_FOLDER}/{CURRENT}")
        manifest = Manifest.model_validate_json(text) if text else Manifest()
        now = utc_now()
        changed = {u: e.model_copy(update={"committed_at": now}) for u, e in self.staged.items()}
        sequence = manifest.sequence + 1
        record = CommitRecord(
            sequence=sequence,
            workflow_id=self.workflow_id,
            job=self.job,
            committed_at=now,
            tables=changed,
        )
        self.store.write_text(f"{COMMITS_FOLDER}/{sequence:08d}.json", record.model_dump_json())
        updated = manifest.model_copy(
            update={
                "sequence": sequence,
                "committed_at": now,
                "tables": {**manifest.tables, **changed},
            }
        )
        self.store.write_text(f"{COMMITS_FOLDER}/{CURRENT}", updated.model_dump_json(indent=1))
        logger.info("committed %s as commit %d", ", ".join(sorted(changed)), sequence)
        return sequence


def commit_history(store: Store) -> list[CommitRecord]:
    """Every commit record up to the current sequence, oldest first."""
    text = store.read_text(f"{COMMITS_FOLDER}/{CURRENT}")
    current = Manifest.model_validate_json(text).sequence if text else 0
    records = []
    for name in store.names(COMMITS_FOLDER):
        if name.endswith(".json") and name[:8].isdigit() and int(name[:8]) <= current:
            body = store.read_text(f"{COMMITS_FOLDER}/{name}")
            if body:
                records.append(CommitRecord.model_validate_json(body))
    return sorted(records, key=lambda record: record.sequence)


def remove_uncommitted_records(store: Store) -> list[str]:
    """Commit records written after `current.json` (a run killed between the two writes)."""
    text = store.read_text(f"{COMMITS_FOLDER}/{CURRENT}")
    current = Manifest.model_validate_json(text).sequence if text else 0
    stray = [
        name
        for name in store.names(COMMITS_FOLDER)
        if name.endswith(".json") and name[:8].isdigit() and int(name[:8]) > current
    ]
    for name in stray:
        store.remove(f"{COMMITS_FOLDER}/{name}")
    return stray


def committed_workflows(store: Store) -> set[str]:
    """The runs whose commit was published."""
    return {record.workflow_id for record in commit_history(store)}


def expired_versions(store: Store, *, keep_days: float, now: datetime | None = None) -> list[str]:
    """Folders replaced more than `keep_days` ago and not current again, relative to the
    warehouse, oldest first by name."""
    moment = now or datetime.now(UTC)
    cutoff = (moment - timedelta(days=keep_days)).isoformat(timespec="milliseconds")
    current: dict[str, TableEntry] = {}
    replaced: dict[str, str] = {}  # folder -> when a later commit stopped pointing at it
    for record in commit_history(store):
        for unit, entry in record.tables.items():
            before = current.get(unit)
            if before is not None:
                for folder in set(before.folders) - set(entry.folders):
                    replaced[f"{unit}/{folder}"] = record.committed_at
            current[unit] = entry
    live = {f"{unit}/{folder}" for unit, entry in current.items() for folder in entry.folders}
    return [
        folder
        for folder, when in sorted(replaced.items())
        if when < cutoff and folder not in live and store.names(folder)
    ]


def vacuum(store: Store, *, keep_days: float, now: datetime | None = None) -> list[str]:
    """Remove versions replaced more than `keep_days` ago (never a current one).

    Returns the removed folders. Commit records stay: they are the small audit trail of what
    was current when.
    """
    removed = expired_versions(store, keep_days=keep_days, now=now)
    for folder in removed:
        store.remove(folder)
    return removed
