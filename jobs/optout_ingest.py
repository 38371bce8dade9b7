"""The optouts job: a partner's opt-out delivery, checked like a delivery and kept for good.

Per file: stage it (S3 objects are copied locally; on a cluster executors read `s3a://`),
checksum it (a file already loaded is not loaded again), read every record as text, check rows
and split them: accepted rows give (kind, key) entries, rejected rows keep their values and
reasons. Every file reconciles `input = accepted + quarantined` and gets a ledger batch of
kind `optout`. The new entries are added to `optouts/partner=<p>` in one commit with the
rejects (`optout_quarantine`); nothing is ever removed from it, and no delivery, retention
or vacuum touches its current version. Match, enrich and activate read it every run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.errors import EmptyFileError, MissingColumnsError
from ingest.ledger import Ledger
from ingest.optouts import (
    ENTRY_COLUMNS,
    OptOutMapping,
    check_optout_rows,
    new_entries,
    optout_entries,
)
from ingest.partner_files import (
    CORRUPT,
    POSITION,
    REASONS,
    IdentifierSpec,
    quarantined_rows,
    read_rows,
    reason_counts,
)
from ingest.readers import reader_options
from ingest.sources import SourceFile, list_sources
from jobs.config import OptOutFeed, PartnerConfig, Workspace
from jobs.errors import WorkspaceError
from jobs.runtime.run_events import DatasetNote
from jobs.runtime.runs import JobResult, RunContext, open_run
from jobs.staging import StagedFile, new_batch_id, staged_file
from jobs.warehouse.catalogue import OPTOUT_QUARANTINE_TABLE, OPTOUTS_TABLE
from jobs.warehouse.tables import committed_table, write_table

JOB = "optout_ingest"
KIND = "optout"  # the ledger batches' kind: never part of a universe


def optout_mapping(partner: PartnerConfig, feed: OptOutFeed) -> OptOutMapping:
    return OptOutMapping(
        partner_id=feed.partner_id,
        identifiers=tuple(IdentifierSpec(i.column, i.kind) for i in feed.identifiers),
        hash_type=partner.hash or "sha256",
        encoding=partner.hash_encoding or "hex",
    )


def partner_feed(workspace: Workspace, partner: str) -> tuple[PartnerConfig, OptOutFeed]:
    config = workspace.partner(partner)
    if config.optouts is None:
        raise WorkspaceError(
            f"partners[{config.name}].optouts",
            "the partner's opt-out feed (source, and the partner_id or identifier columns "
            "that name each person) to ingest opt-outs",
        )
    return config, config.optouts


def _check_file(
    spark: SparkSession,
    feed: OptOutFeed,
    mapping: OptOutMapping,
    readable: str,
    options: dict[str, str],
    source: SourceFile,
) -> DataFrame:
    rows = read_rows(spark, readable, file_format=feed.source.format, options=options)
    available = [c for c in rows.columns if c not in (CORRUPT, POSITION)]
    missing = sorted(set(mapping.columns) - set(available))
    if missing:
        raise MissingColumnsError(file=source.uri, missing=missing, available=available)
    return check_optout_rows(rows, mapping).cache()


def ingest_optout_file(
    workspace: Workspace,
    spark: SparkSession,
    job: RunContext,
    ledger: Ledger,
    partner: PartnerConfig,
    source: SourceFile,
) -> dict[str, Any]:
    """Check one file; its counts, and its entries and rejects to commit (unless it is a
    file already loaded)."""
    staging = staged_file(
        workspace, spark, job, ledger, partner=partner.name, source=source, kind=KIND
    )
    with staging as staged:
        batch_id = new_batch_id()
        previous = ledger.loaded_batch(partner.name, staged.checksum, kind=KIND)
        ledger.start_batch(
            batch_id=batch_id,
            partner=partner.name,
            source_uri=source.uri,
            size_bytes=source.size,
            checksum=staged.checksum,
            workflow_id=job.workflow_id,
            status="duplicate" if previous else "running",
            duplicate_of=previous,
            kind=KIND,
        )
        if previous:
            return {"batch_id": batch_id, "status": "duplicate", "duplicate_of": previous}
        counts: dict[str, Any] = {"batch_id": batch_id}
        try:
            entries, rejected = _checked(spark, job, partner, source, staged, counts)
        except Exception as error:
            ledger.finish_batch(batch_id, status="failed", counts=counts, error=str(error))
            raise
    job.noted_read(DatasetNote(uri=source.uri, rows=counts["input_rows"]))
    ledger.finish_batch(batch_id, status="checked", counts=counts)
    return {**counts, "status": "checked", "entries": entries, "rejected": rejected}


def _checked(
    spark: SparkSession,
    job: RunContext,
    partner: PartnerConfig,
    source: SourceFile,
    staged: StagedFile,
    counts: dict[str, Any],
) -> tuple[DataFrame, DataFrame]:
    """(entries, rejects) of one staged file, materialised before its scratch copy goes;
    fills `counts` as it goes, so a failure records how far it got."""
    feed = partner.optouts
    assert feed is not None
    mapping = optout_mapping(partner, feed)
    batch_id = counts["batch_id"]
    options = reader_options(
        feed.source.options, file_format=feed.source.format, has_quotes=staged.has_quotes
    )
    checked = _check_file(spark, feed, mapping, staged.readable, options, source)
    counts["input_rows"] = checked.count()
    if counts["input_rows"] == 0:
        raise EmptyFileError(file=source.uri, problem="the file has a header but no rows")
    rejected = quarantined_rows(
        checked, batch_id=batch_id, source_uri=source.uri, workflow_id=job.workflow_id
    ).localCheckpoint()
    counts["quarantined_rows"] = rejected.count()
    counts["accepted_rows"] = checked.where(F.size(REASONS) == 0).count()
    if counts["accepted_rows"] + counts["quarantined_rows"] != counts["input_rows"]:
        raise RuntimeError(f"{source.uri}: opt-out counts do not reconcile: {counts}")
    counts["quarantined_by_reason"] = {
        r["reason"]: int(r["count"]) for r in reason_counts(rejected).collect()
    }
    received = datetime.now(UTC).isoformat()
    entries = optout_entries(checked, mapping).select(
        *ENTRY_COLUMNS, F.lit(batch_id).alias("batch_id"), F.lit(received).alias("received_at")
    )
    entries = entries.localCheckpoint()
    checked.unpersist()
    return entries, rejected


def _kept(previous: DataFrame | None, added: list[DataFrame]) -> DataFrame | None:
    """The previous version's rows and the added ones (None when there are neither)."""
    frames = ([previous.drop("partner")] if previous is not None else []) + added
    return reduce(DataFrame.unionByName, frames) if frames else None


def run(
    workspace: Workspace, spark: SparkSession, *, partner: str, sources: list[str] | None = None
) -> JobResult:
    """Ingest the named opt-out files (default: the partner's configured opt-out source)."""
    config, feed = partner_feed(workspace, partner)
    uris = sources or [workspace.resolve(feed.source.path)]
    ledger = Ledger(workspace.ledger_path)
    with open_run(workspace, JOB, spark=spark) as job:
        files = list_sources(uris)
        totals = {"files": len(files), "loaded": 0, "duplicate": 0}
        totals |= {"input_rows": 0, "accepted_rows": 0, "quarantined_rows": 0}
        job.counts.update(partner=config.name, totals=totals)
        batches: list[dict[str, Any]] = []
        entries: list[DataFrame] = []
        rejected: list[DataFrame] = []
        try:
            for source in files:
                outcome = ingest_optout_file(workspace, spark, job, ledger, config, source)
                if outcome["status"] == "checked":
                    entries.append(outcome.pop("entries"))
                    rejected.append(outcome.pop("rejected"))
                    outcome["status"] = "loaded"
                totals[outcome["status"]] += 1
                for key in ("input_rows", "accepted_rows", "quarantined_rows"):
                    totals[key] += int(outcome.get(key, 0))
                batches.append({"source": source.uri, **outcome})
            job.counts["batches"] = batches
            previous = committed_table(spark, workspace.warehouse, OPTOUTS_TABLE, config.name)
            if entries:
                delivered = reduce(DataFrame.unionByName, entries).dropDuplicates(
                    list(ENTRY_COLUMNS)
                )
                added = new_entries(previous, delivered).localCheckpoint()
                job.counts["new_entries"] = added.count()
                kept = _kept(previous, [added])
                assert kept is not None
                path = write_table(kept, job, OPTOUTS_TABLE, partner=config.name)
                job.outputs[f"{OPTOUTS_TABLE}.{config.name}"] = path
                quarantine = _kept(
                    committed_table(
                        spark, workspace.warehouse, OPTOUT_QUARANTINE_TABLE, config.name
                    ),
                    rejected,
                )
                assert quarantine is not None
                job.outputs[f"{OPTOUT_QUARANTINE_TABLE}.{config.name}"] = write_table(
                    quarantine, job, OPTOUT_QUARANTINE_TABLE, partner=config.name
                )
                job.counts["entries"] = spark.read.parquet(path).count()
            else:
                job.counts["new_entries"] = 0
                job.counts["entries"] = previous.count() if previous is not None else 0
        except BaseException:
            ledger.unpublish_batches(job.workflow_id)
            raise
    ledger.publish_batches(job.workflow_id)
    return job.result()
