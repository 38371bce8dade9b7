"""The partner_ingest job: a delivery (the files of one ingest) is published all or nothing.

Per file: stage it locally if it is on S3 (on a cluster, executors read `s3a://` directly),
checksum it (a file already loaded for the partner is not loaded again: the delivery takes
that batch's rows), read every record as text, check rows (quarantining failures with
reasons) and run the Great Expectations gate on the accepted rows. A file's rejects go to
`quarantine/<partner>/batch_id=<id>` whatever its outcome, so every batch keeps
`input = accepted + quarantined`. Only when every file passed are the accepted batches moved
into `partner/<partner>` and the delivery committed as the partner's universe; one failing
file leaves the previous universe current.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import reduce
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.deltas import (
    DELETE,
    FILE_ORDER,
    OPERATION,
    SOURCE_BATCH,
    UPSERT,
    delta_counts,
    fold_delta,
    latest_changes,
)
from ingest.errors import EmptyFileError, QualityGateError, SourceError
from ingest.identity.detection import require_declared_forms, sample_values
from ingest.ledger import Ledger
from ingest.partner_files import (
    POSITION,
    ROUTE,
    ROUTE_ACCEPTED,
    ROUTE_HELD,
    FileMapping,
    IdentifierSpec,
    accepted_of_held,
    check_rows,
    held_duplicates,
    judged_held,
    quarantined_held,
    read_rows,
    reason_counts,
    repeated_partner_ids,
    require_mapped_columns,
    routed_rows,
)
from ingest.quality import GateResult, GateSettings, import_gate_modules_beside, run_gate
from ingest.readers import reader_options
from ingest.sources import (
    SourceFile,
    list_sources,
)
from jobs.config import DeliveryKind, PartnerConfig, Workspace
from jobs.errors import DeliveryOrderError
from jobs.history import delivery_drift, delivery_point
from jobs.reports.validations import page_path, write_validations_page
from jobs.runtime.run_events import DatasetNote, schema_fields
from jobs.runtime.runs import JobResult, RunContext, fault_point, open_run, timed
from jobs.staging import new_batch_id, staged_file
from jobs.warehouse.catalogue import PARTNER_CHANGES_TABLE, PARTNER_TABLE, QUARANTINE_TABLE
from jobs.warehouse.paths import remove
from jobs.warehouse.universe import (
    current_batch_ids,
    current_universe,
    read_batches,
    universe_unit,
)
from schemas.attributes import load_attribute_catalog

JOB = "partner_ingest"
logger = logging.getLogger(__name__)


def file_mapping(
    partner: PartnerConfig, *, kind: DeliveryKind = "full", source_uri: str = ""
) -> FileMapping:
    """The checks' view of a partner's file: columns, declared hash form, catalog value sets,
    and for a delta the operation column, or none for a file of deletes."""
    values = {a.name: a.values for _, a in load_attribute_catalog().attributes()}
    attributes = {c: domain for domain, cs in partner.mapping.attributes.items() for c in cs}
    pattern = partner.delivery.delete_files
    deletes_only = kind == "delta" and bool(pattern) and fnmatch(file_name(source_uri), pattern)
    return FileMapping(
        partner_id=partner.mapping.partner_id,
        identifiers=tuple(IdentifierSpec(i.column, i.kind) for i in partner.mapping.identifiers),
        hash_type=partner.hash,
        encoding=partner.hash_encoding,
        attributes=attributes,
        allowed_values={c: values[c] for c in attributes if c in values},
        sources=partner.mapping.columns,
        recode=partner.mapping.recode,
        confidence=partner.mapping.confidence,
        operation=partner.delivery.operation_column if kind == "delta" else None,
        deletes_only=deletes_only,
    )


def file_name(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class BatchPaths:
    """Where one batch is staged and where it is published (local warehouse)."""

    work: Path
    accepted: Path
    quarantine: Path

    @classmethod
    def of(cls, warehouse: str, partner: str, batch_id: str) -> BatchPaths:
        root = Path(warehouse.removeprefix("file://"))
        folder = f"batch_id={batch_id}"
        return cls(
            work=root / ".staging" / batch_id,
            accepted=root / PARTNER_TABLE / partner / folder,
            quarantine=root / QUARANTINE_TABLE / partner / folder,
        )

    def staged(self, final: Path) -> Path:
        return self.work / final.parent.parent.name / final.name

    def keep_quarantine(self) -> None:
        """Move the rejects into the quarantine whatever the batch's outcome."""
        self.quarantine.parent.mkdir(parents=True, exist_ok=True)
        self.staged(self.quarantine).rename(self.quarantine)

    def move_accepted(self, job: RunContext) -> None:
        """Move the checked batch beside the partner's others (visible once committed)."""
        move_claimed(job, self.staged(self.accepted), self.accepted)
        self.discard()

    def discard(self) -> None:
        remove(self.work, [self.work.parent])


def move_claimed(job: RunContext, staged: Path, final: Path) -> None:
    """Move a staged folder to its final place, claimed first: if the run dies before its
    commit, the next writer removes it."""
    job.claim(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(final)


def _spark_failure(file: str, error: Exception) -> SourceError:
    """A readable sentence for failures Spark raises while reading a file."""
    text = str(error)
    if "Unexpected end of" in text or "EOFException" in text or "not in GZIP format" in text:
        return SourceError(file, "the gzip stream is truncated or corrupt; ask for a new copy")
    if "No FileSystem for scheme" in text and "s3a" in text:
        return SourceError(
            file, "this cluster cannot read s3a:// (add hadoop-aws and S3 credentials to Spark)"
        )
    if "MALFORMED" in text or "Malformed" in text:
        return SourceError(file, "the file cannot be parsed in the declared format")
    # Spark's own text can quote a record, so it is logged at debug level, not shown.
    logger.debug("reading %s failed: %s", file, text)
    return SourceError(file, f"Spark could not read the file ({type(error).__name__}; --debug)")


def _count(spark: SparkSession, path: Path) -> int:
    return spark.read.parquet(str(path)).count()


@dataclass(frozen=True)
class FileJob:
    """One file of a delivery: whose, how its rows are read, which kind of delivery, and
    (a full delivery) the accepted rows of its earlier files, whose IDs it must not repeat."""

    partner: PartnerConfig
    source: SourceFile
    mapping: FileMapping
    kind: DeliveryKind
    earlier: tuple[Path, ...] = ()


def ingest_file(
    workspace: Workspace, spark: SparkSession, file: FileJob, job: RunContext, ledger: Ledger
) -> dict[str, Any]:
    """Load one file as one batch; returns its counts (and status) for the job result."""
    partner, source = file.partner, file.source
    staging = staged_file(
        workspace, spark, job, ledger, partner=partner.name, source=source, kind=file.kind
    )
    with staging as staged:
        options = reader_options(
            partner.source.options, file_format=partner.source.format, has_quotes=staged.has_quotes
        )
        seconds = {"stage": staged.seconds}
        return _ingest_readable(
            workspace, spark, file, staged.readable, staged.checksum, seconds, job, ledger, options
        )


def _ingest_readable(
    workspace: Workspace,
    spark: SparkSession,
    file: FileJob,
    readable: str,
    checksum: str,
    seconds: dict[str, float],
    job: RunContext,
    ledger: Ledger,
    options: dict[str, str],
) -> dict[str, Any]:
    partner, source = file.partner, file.source
    batch_id = new_batch_id()
    previous = _reusable_batch(workspace, spark, ledger, file, checksum)
    ledger.start_batch(
        batch_id=batch_id,
        partner=partner.name,
        source_uri=source.uri,
        size_bytes=source.size,
        checksum=checksum,
        workflow_id=job.workflow_id,
        status="duplicate" if previous else "running",
        duplicate_of=previous,
        kind=file.kind,
    )
    if previous:
        logger.warning(
            "%s: already loaded as batch %s; the delivery takes it", source.uri, previous
        )
        return {"batch_id": batch_id, "status": "duplicate", "duplicate_of": previous}
    paths = BatchPaths.of(workspace.warehouse, partner.name, batch_id)
    job.claim(paths.work)
    counts: dict[str, Any] = {"batch_id": batch_id, "seconds": seconds}
    try:
        _load_batch(workspace, spark, file, readable, options, paths, seconds, job, counts)
    except Exception as error:
        failure = error
        if isinstance(error, Py4JJavaError | PySparkException):
            failure = _spark_failure(source.uri, error)
        if paths.staged(paths.quarantine).is_dir():
            paths.keep_quarantine()
        paths.discard()
        ledger.finish_batch(batch_id, status="failed", counts=counts, error=str(failure))
        if failure is not error:
            raise failure from None
        raise
    paths.keep_quarantine()
    ledger.finish_batch(batch_id, status="checked", counts=counts)
    return {**counts, "status": "checked", "paths": paths}


def _universe_note(job: RunContext, partner: str, totals: dict[str, Any]) -> DatasetNote:
    """The delivered universe's row count, when the run knows it: a delta's fold is
    counted; a full delivery's rows are its files' unless some reuse earlier batches."""
    unit = universe_unit(partner)
    rows = job.counts.get("delta", {}).get("universe_rows")
    if rows is None and totals["duplicate"] == 0:
        rows = totals["accepted_rows"]
    return DatasetNote(uri=job.tables().unit_location(unit), unit=unit, rows=rows)


def _reusable_batch(
    workspace: Workspace, spark: SparkSession, ledger: Ledger, file: FileJob, checksum: str
) -> str | None:
    """A batch of the same kind loaded from the same bytes whose rows are still on disk, and
    that repeats no ID an earlier file of this full delivery delivered (else the file is
    checked again, so the repeating rows are quarantined like any later file's)."""
    partner = file.partner.name
    previous = ledger.loaded_batch(partner, checksum, file.kind)
    if previous is None:
        return None
    folder = BatchPaths.of(workspace.warehouse, partner, previous).accepted
    if not folder.is_dir():
        return None
    others = [path for path in file.earlier if path != folder]
    if others and _shares_partner_ids(spark, folder, others):
        logger.info("%s: repeats IDs of an earlier file; checked again", file.source.uri)
        return None
    return previous


def _accepted_partner_ids(spark: SparkSession, folders: Sequence[Path]) -> DataFrame:
    """The `partner_id` column of accepted batch folders (a narrow Parquet read)."""
    return spark.read.parquet(*[str(folder) for folder in folders]).select("partner_id")


def _shares_partner_ids(spark: SparkSession, rows: Path, others: list[Path]) -> bool:
    """Whether any accepted partner ID in `rows` is also in `others`."""
    ids, seen = _accepted_partner_ids(spark, [rows]), _accepted_partner_ids(spark, others)
    return bool(ids.join(seen, "partner_id", "left_semi").limit(1).count())


def _load_batch(
    workspace: Workspace,
    spark: SparkSession,
    file: FileJob,
    readable: str,
    options: dict[str, str],
    paths: BatchPaths,
    seconds: dict[str, float],
    job: RunContext,
    counts: dict[str, Any],
) -> None:
    """Check one file into its staging folder, filling `counts` as it goes (a failure keeps
    what was counted)."""
    partner, source, mapping = file.partner, file.source, file.mapping
    batch_id = paths.work.name
    job.noted_read(DatasetNote(uri=source.uri))
    with timed(seconds, "read_check"):
        rows = read_rows(
            spark, readable, file_format=partner.source.format, options=options, file=source.uri
        )
        extras = require_mapped_columns(rows, mapping, file=source.uri)
        if not mapping.deletes_only:
            require_declared_forms(
                sample_values(rows.drop(POSITION), [i.column for i in mapping.identifiers]),
                {
                    i.column: (i.kind, partner.hash, partner.hash_encoding)
                    for i in mapping.identifiers
                },
                file=source.uri,
            )
        # One pass checks every row and writes it once: accepted, or held back (a failed
        # check, or a partner ID on more than one row, found first on that one column).
        # A full delivery's files are one universe: an ID an earlier file delivered is a
        # duplicate here too (a delta's later file wins instead, when it is folded).
        earlier = _accepted_partner_ids(spark, file.earlier) if file.earlier else None
        repeated_path = paths.work / "repeated"
        repeated_partner_ids(rows, mapping.partner_id, earlier).write.parquet(str(repeated_path))
        repeated = spark.read.parquet(str(repeated_path))
        routed = routed_rows(
            check_rows(rows, mapping),
            repeated,
            mapping,
            batch_id=batch_id,
            workflow_id=job.workflow_id,
        )
        # The `batch_id=` folder carries the batch ID; a copy inside the files would make
        # Spark's partition discovery see the column twice.
        routed_path = paths.work / "routed"
        routed.drop("batch_id").write.partitionBy(ROUTE).parquet(str(routed_path))
        # No rows, no route folder: a partitioned write of nothing writes no file.
        input_rows = _count(spark, routed_path) if any(routed_path.glob(f"{ROUTE}=*")) else 0
    if input_rows == 0:
        raise EmptyFileError(file=source.uri, problem="the file has a header but no rows")
    accepted_path = paths.staged(paths.accepted)
    quarantine_path = paths.staged(paths.quarantine)
    with timed(seconds, "write"):
        # Only the held rows are read again; the accepted route becomes the batch folder,
        # with the held rows that pass the duplicate judgement added to it.
        held = spark.read.parquet(str(routed_path)).where(F.col(ROUTE) == ROUTE_HELD)
        # Duplicates come from a narrow window, written once: the two writes below reuse it.
        duplicates_path = paths.work / "duplicates"
        # An ID an earlier file delivered (marked in `repeated`) keeps no row here.
        judging = repeated if earlier is not None else None
        held_duplicates(held, mapping.partner_id, judging).write.parquet(str(duplicates_path))
        judged = judged_held(held, spark.read.parquet(str(duplicates_path)))
        quarantined_held(
            judged, batch_id=batch_id, source_uri=source.uri, workflow_id=job.workflow_id
        ).drop("batch_id").write.parquet(str(quarantine_path))
        accepted_route = routed_path / f"{ROUTE}={ROUTE_ACCEPTED}"
        accepted_of_held(judged).write.mode("append").parquet(str(accepted_route))
        accepted_path.parent.mkdir(parents=True, exist_ok=True)
        accepted_route.rename(accepted_path)
        accepted_count = _count(spark, accepted_path)
        quarantined_count = _count(spark, quarantine_path)
        by_reason = reason_counts(spark.read.parquet(str(quarantine_path))).collect()
    if accepted_count + quarantined_count != input_rows:
        raise RuntimeError(
            f"{source.uri}: counts do not reconcile: {input_rows} input rows, "
            f"{accepted_count} accepted + {quarantined_count} quarantined"
        )
    counts.update(
        input_rows=input_rows,
        accepted_rows=accepted_count,
        quarantined_rows=quarantined_count,
        quarantined_by_reason={row["reason"]: int(row["count"]) for row in by_reason},
        unmapped_columns=extras,
    )
    stored = read_batches(spark, str(accepted_path))
    records, gate_input = stored, input_rows
    if mapping.operation_value() is not None:
        # The gate judges records: a delta's deletes carry none, so it sees the upserts.
        deletes = records.where(F.col(OPERATION) == DELETE).count()
        counts.update(upserts=accepted_count - deletes, deletes=deletes)
        records, gate_input = records.where(F.col(OPERATION) == UPSERT), input_rows - deletes
    with timed(seconds, "gate"):
        gate = _run_gate(partner, records, batch_id, gate_input, workspace)
    counts["gate"] = {"success": gate.success, "evaluated": gate.evaluated}
    job.noted_read(
        DatasetNote(
            uri=source.uri,
            fields=schema_fields(rows.drop(POSITION).schema),
            rows=input_rows,
            assertions=gate.assertions,
        )
    )
    unit = universe_unit(partner.name)
    universe_fields = schema_fields(stored.schema)
    job.noted_write(
        DatasetNote(uri=job.tables().unit_location(unit), unit=unit, fields=universe_fields)
    )
    if gate.validation_page:
        counts["validation_page"] = gate.validation_page
        counts["data_docs"] = str(page_path(docs_root(workspace), partner.name))
    if not gate.success:
        raise QualityGateError(
            file=source.uri, failures=gate.failures, report=counts.get("data_docs")
        )


def _run_gate(
    partner: PartnerConfig,
    records: DataFrame,
    batch_id: str,
    input_rows: int,
    workspace: Workspace,
) -> GateResult:
    if input_rows == 0:  # a delta of deletes only: no record to judge
        return GateResult(success=True, failures=[], evaluated=0, docs_index=None)
    return run_gate(
        records,
        name=f"{partner.name}_{batch_id.replace('-', '_')}",
        settings=GateSettings(
            max_quarantined_share=partner.quality.max_quarantined_share,
            min_non_null=partner.quality.min_non_null,
            expectations=[e.model_dump() for e in partner.quality.expectations],
        ),
        input_rows=input_rows,
        allowed_values={},
        docs_dir=docs_root(workspace) / partner.name / batch_id,
    )


def docs_root(workspace: Workspace) -> Path:
    """Data Docs: a Great Expectations site per batch (`<partner>/<batch_id>/`: a site
    rebuilt by a later batch would drop the earlier batches' pages) and partnerkit's offline
    index of them per partner (`<partner>.html`)."""
    return workspace.reports_dir / "data_docs"


def _write_validations_page(workspace: Workspace, ledger: Ledger, partner: str) -> None:
    """The offline index of every batch's gate, rewritten after each delivery (failed too)."""
    try:
        batches = ledger.batches(partner=partner, limit=1000)
        write_validations_page(partner, batches, docs_root(workspace))
    except OSError as error:  # a report must not turn a delivery's outcome into another
        logger.warning("could not write the validations page: %s", error)


def _delivery_drift(
    ledger: Ledger, partner: PartnerConfig, totals: dict[str, int], workflow_id: str
) -> list[str]:
    """Warnings when this delivery's quarantined share rose too far above the previous
    published one's (`monitoring.max_quarantine_rise`)."""
    published = [
        delivery_point(d)
        for d in ledger.deliveries(partner=partner.name, limit=20)
        if d.status == "published" and d.workflow_id != workflow_id
    ]
    rows = totals["input_rows"]
    current = {"quarantined_share": totals["quarantined_rows"] / rows if rows else 0.0}
    return delivery_drift(published[0] if published else None, current, partner.monitoring)


def require_universe_for_delta(workspace: Workspace, partner: str) -> None:
    """A delta changes a universe: before the partner's first full delivery there is none."""
    if not current_batch_ids(workspace, partner):
        raise DeliveryOrderError(
            f"partner {partner}: a delta delivery changes the partner's universe, and none is "
            f"published yet; ingest the whole universe first: `partnerkit ingest --partner "
            f"{partner} --kind full FILE...`"
        )


@dataclass(frozen=True)
class FoldPaths:
    """Where a delta delivery's folded universe and its changes are staged and published."""

    universe: BatchPaths
    changes: Path  # partner_changes/<p>/batch_id=<fold id>: one change per person

    @classmethod
    def of(cls, warehouse: str, partner: str) -> FoldPaths:
        universe = BatchPaths.of(warehouse, partner, new_batch_id())
        root = universe.accepted.parent.parent.parent
        changes = root / PARTNER_CHANGES_TABLE / partner / universe.accepted.name
        return cls(universe, changes)

    def move(self, job: RunContext) -> None:
        """Publish both folders (visible once the run commits)."""
        move_claimed(job, self.universe.staged(self.changes), self.changes)
        self.universe.move_accepted(job)


def _fold_delivery(
    workspace: Workspace,
    spark: SparkSession,
    partner: str,
    change_paths: list[Path],
    job: RunContext,
) -> tuple[FoldPaths, dict[str, int]]:
    """Fold the delivery's changes (in file order) into the current universe, staged as a
    new universe folder beside the delivery's last change per person (what an incremental
    match reads); returns where, and how the changes met the universe."""
    universe = current_universe(workspace, spark, partner)
    assert universe is not None  # require_universe_for_delta ran first
    universe = universe.withColumnRenamed("batch_id", SOURCE_BATCH)  # each row's own batch
    frames = [
        read_batches(spark, str(path)).withColumns(
            {FILE_ORDER: F.lit(order), SOURCE_BATCH: F.lit(path.name.removeprefix("batch_id="))}
        )
        for order, path in enumerate(change_paths)
    ]
    changes = reduce(DataFrame.unionByName, frames)
    columns = set(changes.columns) - {OPERATION, FILE_ORDER}
    if columns != set(universe.columns):
        raise DeliveryOrderError(
            f"partner {partner}: the delta's columns differ from the universe's "
            f"(only in the delta: {sorted(columns - set(universe.columns)) or 'none'}; only in "
            f"the universe: {sorted(set(universe.columns) - columns) or 'none'}): a mapping "
            "change needs a full delivery (`--kind full`)"
        )
    fold = FoldPaths.of(workspace.warehouse, partner)
    job.claim(fold.universe.work)
    staged_changes = fold.universe.staged(fold.changes)
    latest_changes(changes).write.parquet(str(staged_changes))
    latest = spark.read.parquet(str(staged_changes))
    counts = delta_counts(universe, latest)
    staged = fold.universe.staged(fold.universe.accepted)
    fold_delta(universe, latest).write.parquet(str(staged))
    counts["universe_rows"] = _count(spark, staged)
    return fold, counts


def run(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: str,
    sources: list[str] | None = None,
    kind: DeliveryKind | None = None,
) -> JobResult:
    """Ingest the named sources (default: the partner's configured source) as one delivery:
    the partner's universe (full), or changes folded into it (delta; `kind` overrides the
    partner's declared kind for this delivery)."""
    partner_config = workspace.partner(partner)
    delivery_kind = kind or partner_config.delivery.kind
    uris = sources or [workspace.resolve(partner_config.source.path)]
    ledger = Ledger(workspace.ledger_path)
    import_gate_modules_beside()  # done by the time a batch reaches its gate
    with open_run(workspace, JOB, spark=spark) as job:
        if delivery_kind == "delta":
            require_universe_for_delta(workspace, partner)
        job.counts["kind"] = delivery_kind
        files = list_sources(uris)
        totals = {
            "files": len(files),
            "loaded": 0,
            "duplicate": 0,
            "input_rows": 0,
            "accepted_rows": 0,
            "quarantined_rows": 0,
        }
        job.counts["totals"] = totals
        batches: list[dict[str, Any]] = []
        job.counts["batches"] = batches
        delivered: list[str] = []  # batch IDs whose rows make up the delivery
        checked: list[BatchPaths] = []
        rows_of: list[Path] = []  # each file's accepted rows, in delivery order
        fold: FoldPaths | None = None
        try:
            for source in files:
                mapping = file_mapping(partner_config, kind=delivery_kind, source_uri=source.uri)
                earlier = tuple(rows_of) if delivery_kind == "full" else ()
                file = FileJob(partner_config, source, mapping, delivery_kind, earlier)
                outcome = ingest_file(workspace, spark, file, job, ledger)
                if outcome["status"] == "checked":
                    paths = outcome.pop("paths")
                    checked.append(paths)
                    rows_of.append(paths.staged(paths.accepted))
                    delivered.append(outcome["batch_id"])
                    outcome["status"] = "loaded"
                else:
                    delivered.append(outcome["duplicate_of"])
                    rows_of.append(
                        BatchPaths.of(
                            workspace.warehouse, partner, outcome["duplicate_of"]
                        ).accepted
                    )
                batches.append({"source": source.uri, **outcome})
                fault_point("ingested_file")
                totals[outcome["status"]] += 1
                for key in ("input_rows", "accepted_rows", "quarantined_rows"):
                    totals[key] += int(outcome.get(key, 0))
            if delivery_kind == "delta":
                with timed(job.counts.setdefault("seconds", {}), "fold"):
                    fold, job.counts["delta"] = _fold_delivery(
                        workspace, spark, partner, rows_of, job
                    )
        except BaseException:
            ledger.unpublish_batches(job.workflow_id)
            _write_validations_page(workspace, ledger, partner)
            raise
        with timed(job.counts.setdefault("seconds", {}), "publish"):
            for paths in checked:
                paths.move_accepted(job)
                fault_point("moved_batch")
            if fold is not None:
                fold.move(job)
                fault_point("moved_fold")
        job.counts["drift"] = _delivery_drift(ledger, partner_config, totals, job.workflow_id)
        # A full delivery's universe is its batches; a delta's, the folded copy (its change
        # batches stay beside it for audit, never read as the universe).
        universe = [fold.universe.accepted.name] if fold else [f"batch_id={b}" for b in delivered]
        changes = {"changes": fold.changes.name} if fold else {}
        job.tables().stage(
            universe_unit(partner), sorted(set(universe)), files=len(files), **changes
        )
        job.noted_write(_universe_note(job, partner, totals))
        job.outputs[f"{PARTNER_TABLE}.{partner}"] = ",".join(sorted(set(delivered)))
    ledger.publish_batches(job.workflow_id)
    _write_validations_page(workspace, ledger, partner)
    return job.result()
