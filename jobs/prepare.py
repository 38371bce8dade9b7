"""The seed_prepare job: read the seed set, normalize and hash per partner, quarantine the rest."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ingest.identity.profiles import get_profile
from ingest.ledger import Ledger
from ingest.readers import read_file, require_columns
from ingest.seeds import (
    SEED_IDENTIFIERS_TABLE,
    SEED_QUARANTINE_TABLE,
    SEED_ROWS_QUARANTINE_TABLE,
    SEEDS_TABLE,
    SeedColumnNames,
    count_outcomes,
    judge_seed_rows,
    prepare_seed_identifiers,
    rejected_seed_rows,
    seed_identifiers,
    seed_quarantine,
    valid_seed_rows,
)
from jobs.config import PartnerConfig, Workspace
from jobs.runs import JobResult, record_run
from jobs.tables import write_table

JOB = "seed_prepare"


def seed_column_names(workspace: Workspace) -> SeedColumnNames:
    return SeedColumnNames(**workspace.config.seeds.columns.model_dump())


def run(workspace: Workspace, spark: SparkSession, *, partner: str | None = None) -> JobResult:
    """Write `seeds`, then `seed_identifiers` and the seeds quarantine for each partner."""
    config = workspace.config
    partners: list[PartnerConfig] = (
        [workspace.partner(partner)] if partner else list(config.partners)
    )
    source = workspace.resolve(config.seeds.source.path)
    names = seed_column_names(workspace)
    with record_run(Ledger(workspace.ledger_path), JOB) as job:
        raw = read_file(
            spark, source, file_format=config.seeds.source.format,
            options=config.seeds.source.options,
        )  # fmt: skip
        mapped = [*names.__dict__.values(), *config.seeds.attributes]
        require_columns(raw, mapped, file=source)
        raw = raw.cache()  # parsed once: judged, counted, written and prepared from memory
        judged = judge_seed_rows(raw, profile_id=names.profile_id, workflow_id=job.workflow_id)
        valid = valid_seed_rows(judged)
        job.counts["input_rows"] = judged.count()
        job.counts["accepted_rows"] = valid.count()
        quarantine_path = write_table(
            rejected_seed_rows(judged), workspace.warehouse, SEED_ROWS_QUARANTINE_TABLE
        )
        # Counted from what was written, so input = accepted + quarantined is a real check.
        job.counts["quarantined_rows"] = spark.read.parquet(quarantine_path).count()
        job.outputs[SEEDS_TABLE] = write_table(valid, workspace.warehouse, SEEDS_TABLE)
        for partner_config in partners:
            prepared = prepare_seed_identifiers(
                valid,
                names=names,
                partner=partner_config.name,
                profile=get_profile(partner_config.profile),
                hash_type=partner_config.hash,
                encoding=partner_config.hash_encoding,
                default_country=config.seeds.default_country,
                workflow_id=job.workflow_id,
            ).cache()
            name = partner_config.name
            job.outputs[f"{SEED_IDENTIFIERS_TABLE}.{name}"] = write_table(
                seed_identifiers(prepared), workspace.warehouse, SEED_IDENTIFIERS_TABLE,
                partner=name,
            )  # fmt: skip
            write_table(
                seed_quarantine(prepared), workspace.warehouse, SEED_QUARANTINE_TABLE, partner=name
            )
            job.counts.update({f"{name}.{k}": v for k, v in count_outcomes(prepared).items()})
            prepared.unpersist()
        raw.unpersist()
    return job.result()
