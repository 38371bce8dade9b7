"""The overlap job: how many seeds a partner's universe holds, as counts a clean room would
release (no rows; counts under the workspace's `privacy.k` withheld)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ingest.audiences.overlap import overlap_by_value, overlap_counts, overlap_pairs
from ingest.matching import seed_hash_keys
from jobs.config import PartnerConfig, Workspace
from jobs.data_science import attribute_fields, evaluate_data_science, refused
from jobs.errors import WorkspaceError
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.catalogue import SEED_IDENTIFIERS_TABLE
from jobs.warehouse.tables import read_committed
from jobs.warehouse.universe import (
    current_universe,
    load_universe_identifiers,
    partner_attribute_columns,
)

JOB = "overlap"


def run(
    workspace: Workspace, spark: SparkSession, *, partner: str, by: str | None = None
) -> JobResult:
    """Seeds with a usable identifier and those sharing one with the universe, overall and
    per kind, and per value of the partner attribute `by` (an ingested universe's column).
    Counting a partner's universe is analysis of its data: `dataScience` is decided first,
    from the same lineage as icp (the universe's labels and the attribute's profile field)."""
    config = workspace.partner(partner)
    k = workspace.config.privacy.k
    column = attribute_column(config, by) if by is not None else None
    mapped = attribute_fields(workspace, config.name)
    analysed = [mapped[by][0]] if by in mapped else []
    with open_run(workspace, JOB, writes=False) as job:
        job.counts["partner"] = config.name
        evaluation = evaluate_data_science(workspace, job, config.name, analysed)
        if not evaluation.allowed:
            return refused(job, evaluation)
        job.counts["allowed"] = True
        seed_ids = read_committed(
            spark,
            workspace.warehouse,
            SEED_IDENTIFIERS_TABLE,
            config.name,
            remedy=f"run `partnerkit prepare --partner {config.name}` first",
        )
        seed_keys = seed_hash_keys(seed_ids, hash_type=config.hash, encoding=config.hash_encoding)
        universe_ids, _ = load_universe_identifiers(workspace, spark, config)
        pairs = overlap_pairs(seed_keys, universe_ids).cache()
        job.counts.update(k=k, **overlap_counts(seed_keys, pairs, k=k))
        if column is not None:
            universe = current_universe(workspace, spark, config.name)
            if universe is None:
                raise WorkspaceError(
                    f"--by {by}",
                    f"an ingested universe of partner {config.name}: run "
                    f"`partnerkit ingest --partner {config.name}` first",
                )
            job.counts["by"] = by
            job.counts["by_value"] = overlap_by_value(
                pairs, universe, partner_id="partner_id", column=column, k=k
            )
        pairs.unpersist()
    return job.result()


def attribute_column(config: PartnerConfig, attribute: str) -> str:
    """The universe column of a delivered attribute, or one sentence naming the choices."""
    columns, _ = partner_attribute_columns(config)
    if attribute not in columns:
        raise WorkspaceError(
            f"--by {attribute}",
            f"an attribute partner {config.name} delivers "
            f"({', '.join(sorted(columns))}; see `partnerkit attributes`)",
        )
    return columns[attribute]
