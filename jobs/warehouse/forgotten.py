"""The people erased by `forget`, as the jobs that must keep them out read them: prepare
(their seed rows are skipped) and activate (never exported). Only key hashes are kept."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.audiences.exports import COUNTRY_FIELD, EMAIL_FIELD, PHONE_FIELD
from ingest.enrichment.profiles import PROFILE_ID_FIELD
from ingest.erasure import key_columns, names_any
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


def profile_keys(workspace: Workspace) -> list[Column]:
    """The keys of a profile record: its ID, email and phone."""
    return key_columns(
        profile_id=F.col(PROFILE_ID_FIELD),
        email=F.col(EMAIL_FIELD),
        phone=F.col(PHONE_FIELD),
        country=F.col(COUNTRY_FIELD),
        profile=get_profile(KEY_PROFILE),
        default_country=workspace.config.seeds.default_country,
    )


def forgotten_members(
    workspace: Workspace, spark: SparkSession, members: DataFrame
) -> DataFrame | None:
    """`profileId` of members an erasure named (None before any erasure)."""
    keys = forgotten_keys(workspace, spark)
    if not keys:
        return None
    return members.where(names_any(profile_keys(workspace), keys)).select(PROFILE_ID_FIELD)
