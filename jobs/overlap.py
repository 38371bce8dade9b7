"""The overlap job: how many seeds a partner's universe holds, as counts a clean room would
release (no rows; counts under the workspace's `privacy.k` withheld)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ingest.audiences.overlap import overlap_by_value, overlap_counts, overlap_pairs
from ingest.matching import seed_hash_keys
from jobs.config import Workspace
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
    per kind, and per value of the partner attribute `by` (an ingested universe's column)."""
    config = workspace.partner(partner)
    k = workspace.config.privacy.k
    with open_run(workspace, JOB, writes=False) as job:
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
        job.counts.update(partner=config.name, k=k, **overlap_counts(seed_keys, pairs, k=k))
        if by is not None:
            columns, _ = partner_attribute_columns(config)
            if by not in columns:
                raise WorkspaceError(
                    f"--by {by}",
                    f"an attribute partner {config.name} delivers "
                    f"({', '.join(sorted(columns))}; see `partnerkit attributes`)",
                )
            universe = current_universe(workspace, spark, config.name)
            if universe is None:
                raise WorkspaceError(
                    f"--by {by}",
                    f"an ingested universe of partner {config.name}: run "
                    f"`partnerkit ingest --partner {config.name}` first",
                )
            job.counts["by"] = by
            job.counts["by_value"] = overlap_by_value(
                pairs, universe, partner_id="partner_id", column=columns[by], k=k
            )
        pairs.unpersist()
    return job.result()
