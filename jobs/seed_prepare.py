"""The seed_prepare job: read the seed set, normalize and hash per partner, quarantine the rest."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

from pyspark.sql import DataFrame, SparkSession

from ingest.erasure import names_any
from ingest.errors import EmptyFileError
from ingest.identity.profiles import get_profile
from ingest.readers import local_files_have_quotes, read_file, reader_options, require_columns
from ingest.seeds import (
    SeedColumnNames,
    count_outcomes,
    judge_seed_rows,
    prepare_seed_identifiers,
    rejected_seed_rows,
    seed_quarantine,
    valid_seed_rows,
)
from jobs.config import PartnerConfig, Workspace
from jobs.runtime.run_events import DatasetNote, schema_fields
from jobs.runtime.runs import Handoff, JobResult, RunContext, open_run, submit_in_context
from jobs.warehouse.catalogue import (
    SEED_IDENTIFIERS_TABLE,
    SEED_QUARANTINE_TABLE,
    SEED_ROWS_QUARANTINE_TABLE,
    SEEDS_TABLE,
)
from jobs.warehouse.forgotten import forgotten_keys, seed_row_keys
from jobs.warehouse.tables import read_version, write_table

JOB = "seed_prepare"
Written = tuple[dict[str, int], dict[str, str]]  # counts, and the tables written


def seed_column_names(workspace: Workspace) -> SeedColumnNames:
    return SeedColumnNames(**workspace.config.seeds.columns.model_dump())


def run(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: str | None = None,
    identifiers_written: Handoff | None = None,
) -> JobResult:
    """Write `seed_identifiers` and the seeds quarantine for each partner, and `seeds`.

    `seeds` and the rows quarantine feed nothing in this job, so they are written on a side
    thread: two concurrent Spark jobs keep both cores busy through each other's planning
    pauses and last tasks. Alone, they run beside the identifier writes. Given
    `identifiers_written` (`match --prepare`), they start once every partner's
    `seed_identifiers` is written (and handed to the match), and run beside that match.
    """
    config = workspace.config
    partners: list[PartnerConfig] = (
        [workspace.partner(partner)] if partner else list(config.partners)
    )
    source = workspace.resolve(config.seeds.source.path)
    names = seed_column_names(workspace)
    with open_run(workspace, JOB, spark=spark) as job, ThreadPoolExecutor(1) as side:
        file_format = config.seeds.source.format
        quotes = local_files_have_quotes(source) if file_format == "csv" else None
        options = reader_options(
            config.seeds.source.options, file_format=file_format, has_quotes=quotes
        )
        raw = read_file(spark, source, file_format=file_format, options=options)
        erased = forgotten_keys(workspace, spark)
        if erased:  # people erased by `forget` stay out, whatever the file still says
            named = names_any(seed_row_keys(workspace, raw), erased)
            job.counts["forgotten_rows"] = raw.where(named).count()
            raw = raw.where(~named)
        mapped = [*names.__dict__.values(), *config.seeds.attributes]
        optional = {c: f"seeds.columns.{k}" for k, c in names.__dict__.items() if k != "profile_id"}
        require_columns(raw, mapped, file=source, keys=optional)
        raw = raw.cache()  # parsed once: judged, counted, written and prepared from memory
        judged = judge_seed_rows(raw, profile_id=names.profile_id, workflow_id=job.workflow_id)
        valid = valid_seed_rows(judged)
        job.counts["input_rows"] = judged.count()
        job.noted_read(
            DatasetNote(uri=source, fields=schema_fields(raw.schema), rows=job.counts["input_rows"])
        )
        if job.counts["input_rows"] == 0:
            raise EmptyFileError(file=source, problem="the file has a header but no rows")
        write_seed_rows = partial(
            submit_in_context, side, _write_seed_rows, job, spark, judged, valid
        )

        def write_identifiers() -> list[Written]:
            return [_write_identifiers(workspace, job, p, valid, names) for p in partners]

        if identifiers_written is None:  # alone: beside the identifier writes
            seed_rows = write_seed_rows()
            per_partner = write_identifiers()
        else:  # beside the match, which starts once the identifiers exist
            per_partner = write_identifiers()
            identifiers_written.give(job)
            seed_rows = write_seed_rows()
        for counts, outputs in (seed_rows.result(), *per_partner):
            job.counts.update(counts)
            job.outputs.update(outputs)
        raw.unpersist()
    return job.result()


def _write_seed_rows(
    job: RunContext, spark: SparkSession, judged: DataFrame, valid: DataFrame
) -> Written:
    """The `seeds` table (`valid`) and the rows quarantine (the rest of `judged`), counted."""
    accepted = valid.count()
    quarantine_path = write_table(rejected_seed_rows(judged), job, SEED_ROWS_QUARANTINE_TABLE)
    # Counted from what was written, so input = accepted + quarantined is a real check.
    quarantined = spark.read.parquet(quarantine_path).count()
    seeds_path = write_table(valid, job, SEEDS_TABLE)
    return {"accepted_rows": accepted, "quarantined_rows": quarantined}, {SEEDS_TABLE: seeds_path}


def _write_identifiers(
    workspace: Workspace,
    job: RunContext,
    partner: PartnerConfig,
    valid: DataFrame,
    names: SeedColumnNames,
) -> Written:
    """One partner's `seed_identifiers` and seeds quarantine, with its outcome counts."""
    config = workspace.config
    profile = get_profile(partner.profile)
    identifiers = prepare_seed_identifiers(
        valid,
        names=names,
        partner=partner.name,
        profile=profile,
        hash_type=partner.hash,
        encoding=partner.hash_encoding,
        default_country=config.seeds.default_country,
        workflow_id=job.workflow_id,
    )
    name = partner.name
    # Written straight from the rules (caching 3M rows cost more than the write), then read
    # back: the quarantine and the counts come from what was written.
    written = write_table(identifiers, job, SEED_IDENTIFIERS_TABLE, partner=name)
    stored = read_version(valid.sparkSession, written, name)
    quarantine = seed_quarantine(stored, valid, names=names, profile=profile)
    write_table(quarantine, job, SEED_QUARANTINE_TABLE, partner=name)
    counts = {f"{name}.{k}": v for k, v in count_outcomes(stored).items()}
    return counts, {f"{SEED_IDENTIFIERS_TABLE}.{name}": written}
