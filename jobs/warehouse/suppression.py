"""The brand's suppression lists, read where they apply: at every export (activate) and,
so that the people they name are neither matched nor enriched, at match and enrich.

A list is a file the brand keeps, read each time rather than copied into the warehouse; a
match or enrich records a fingerprint of the entries it read in its basis, so a list that
changed makes its next run a full one."""

from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.audiences.suppression import KEY_COLUMNS, keys_fingerprint, list_keys, row_keys
from ingest.identity.profiles import Profile, get_profile
from ingest.readers import read_file, require_columns
from jobs.config import SuppressionList, Workspace
from jobs.runtime.run_events import DatasetNote, schema_fields
from jobs.runtime.runs import RunContext
from jobs.warehouse.catalogue import SEEDS_TABLE
from jobs.warehouse.tables import committed_table


def list_profile(listing: SuppressionList) -> Profile:
    return get_profile(listing.profile)


def suppression_keys(
    workspace: Workspace, spark: SparkSession, job: RunContext
) -> list[tuple[SuppressionList, DataFrame]]:
    """Each list with its (kind, key) entries; each list read is an input of the run."""
    found = []
    for listing in workspace.config.suppression:
        source = workspace.resolve(listing.source.path)
        rows = read_file(
            spark, source, file_format=listing.source.format, options=listing.source.options
        )
        require_columns(rows, [listing.profile_id, listing.email, listing.phone], file=source)
        job.noted_read(DatasetNote(uri=source, fields=schema_fields(rows.schema)))
        keys = list_keys(
            rows,
            profile_id=listing.profile_id,
            email=listing.email,
            phone=listing.phone,
            hashed=listing.hashed,
            profile=list_profile(listing),
            default_country=workspace.config.seeds.default_country,
        )
        found.append((listing, keys))
    return found


def suppressed_seed_profiles(
    workspace: Workspace, spark: SparkSession, job: RunContext
) -> tuple[DataFrame | None, str]:
    """`profile_id` of the seeds the lists name (None: no lists or no seeds), and the
    fingerprint of the entries read ("" without lists)."""
    lists = suppression_keys(workspace, spark, job)
    fingerprint = "|".join(f"{listing.name}:{keys_fingerprint(keys)}" for listing, keys in lists)
    seeds = committed_table(spark, workspace.warehouse, SEEDS_TABLE)
    if not lists or seeds is None:
        return None, fingerprint
    names = workspace.config.seeds.columns

    def column(name: str | None) -> str | None:
        return name if name and name in seeds.columns else None

    found = []
    for listing, keys in lists:
        keyed = row_keys(
            seeds,
            profile_id=names.profile_id,
            email=column(names.email),
            phone=column(names.phone),
            country=column(names.country),
            profile=list_profile(listing),
            default_country=workspace.config.seeds.default_country,
        )
        named = keyed.join(keys, list(KEY_COLUMNS), "left_semi")
        found.append(named.select(F.col(names.profile_id).cast("string").alias("profile_id")))
    return reduce(DataFrame.unionByName, found).distinct(), fingerprint
