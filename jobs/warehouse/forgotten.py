"""The people erased by `forget`, as prepare reads them to keep them out (their seed rows
are skipped, so no later profile, match or export holds them). Only key hashes are kept."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.erasure import key_columns
from ingest.identity.profiles import get_profile
from jobs.config import Workspace
from jobs.warehouse.catalogue import FORGOTTEN_TABLE
from jobs.warehouse.tables import committed_table

# The normalization profile requests and rows are keyed with (as suppression lists are).
KEY_PROFILE = "ndc"


def forgotten_keys(workspace: Workspace, spark: SparkSession) -> set[str]:
    """Every key erased so far (empty before the first erasure)."""
    table = committed_table(spark, workspace.warehouse, FORGOTTEN_TABLE)
    return set() if table is None else {r["key"] for r in table.select("key").collect()}


def seed_row_keys(workspace: Workspace, frame: DataFrame) -> list[Column]:
    """The keys of a seed row from the seed columns it has (seeds, the rows quarantine)."""
    names = workspace.config.seeds.columns

    def column(name: str | None) -> Column | None:
        return F.col(f"`{name}`") if name and name in frame.columns else None

    return key_columns(
        profile_id=column(names.profile_id),
        email=column(names.email),
        phone=column(names.phone),
        country=column(names.country),
        profile=get_profile(KEY_PROFILE),
        default_country=workspace.config.seeds.default_country,
    )
