"""Staging one delivered file for Spark, shared by the delivery and opt-out ingests.

A local file is read in place (gzip is decompressed into scratch); an S3 object is copied
into scratch with boto3 in local mode; on a cluster executors read `s3a://` themselves and
the file is identified by S3's ETag and size instead of a SHA-256. A file that cannot even
be staged (missing, denied, truncated) still gets a failed ledger batch with the reason.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from ingest.errors import SourceError
from ingest.ledger import Ledger
from ingest.readers import literal_path
from ingest.sources import SourceFile, read_delivery, s3_fingerprint, stage_s3_object
from jobs.config import Workspace
from jobs.runtime.runs import RunContext
from jobs.warehouse.paths import remove


def new_batch_id() -> str:
    """Sortable by load time, unique across concurrent runs."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class StagedFile:
    """Where Spark reads a delivered file, and what identifies it in the ledger."""

    readable: str
    checksum: str
    has_quotes: bool | None  # None: not looked at (read directly from S3)
    seconds: float  # spent staging: copying, decompressing, checksumming


@contextmanager
def staged_file(
    workspace: Workspace,
    spark: SparkSession,
    job: RunContext,
    ledger: Ledger,
    *,
    partner: str,
    source: SourceFile,
    kind: str,
) -> Iterator[StagedFile]:
    """The file ready for Spark for the length of the block; its scratch copy is removed
    after it, whatever the outcome."""
    started = time.perf_counter()
    if source.is_s3 and not spark.sparkContext.master.startswith("local"):
        with _recorded_if_failing(ledger, job, partner=partner, source=source, kind=kind):
            fingerprint = s3_fingerprint(source)
        readable = "s3a://" + source.uri.removeprefix("s3://")
        yield StagedFile(readable, fingerprint, None, _since(started))
        return
    staging_root = Path(workspace.warehouse.removeprefix("file://")) / ".staging"
    scratch = Path(job.claim(staging_root / f"unpacked-{uuid.uuid4().hex[:8]}"))
    try:
        with _recorded_if_failing(ledger, job, partner=partner, source=source, kind=kind):
            if source.is_s3:
                copy = stage_s3_object(source, scratch)
            else:
                copy = read_delivery(Path(source.uri), uri=source.uri, unpack_to=scratch)
        readable = literal_path(str(copy.path))
        yield StagedFile(readable, copy.sha256, copy.has_quotes, _since(started))
    finally:
        remove(scratch, [scratch.parent])


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 2)


@contextmanager
def _recorded_if_failing(
    ledger: Ledger, job: RunContext, *, partner: str, source: SourceFile, kind: str
) -> Iterator[None]:
    """A file that cannot be staged still gets a batch row, marked failed with the reason,
    so `partnerkit batches` shows every attempt."""
    try:
        yield
    except SourceError as error:
        batch_id = new_batch_id()
        ledger.start_batch(
            batch_id=batch_id,
            partner=partner,
            source_uri=source.uri,
            size_bytes=source.size,
            checksum="",
            workflow_id=job.workflow_id,
            kind=kind,
        )
        ledger.finish_batch(batch_id, status="failed", error=str(error))
        raise
