"""The kept opt-outs of each partner, resolved for the jobs that must honour them: match
(persons never matched), enrich (their records never attached) and activate (profiles and
prospects never exported)."""

from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.enrichment.profiles import PROFILE_ID_FIELD
from ingest.matching import seed_hash_keys
from ingest.optouts import opted_out_persons, opted_out_profiles
from jobs.config import PartnerConfig, Workspace
from jobs.warehouse.catalogue import MATCHES_TABLE, OPTOUTS_TABLE, SEED_IDENTIFIERS_TABLE
from jobs.warehouse.tables import committed_table, current_version
from jobs.warehouse.universe import current_universe, ingested_identifiers


def partner_optouts(
    workspace: Workspace, spark: SparkSession, partner: PartnerConfig
) -> DataFrame | None:
    """The partner's kept opt-out entries (kind, key), or None before its first opt-out."""
    return committed_table(spark, workspace.warehouse, OPTOUTS_TABLE, partner.name)


def optouts_version(workspace: Workspace, partner: str) -> str:
    """The version of the partner's opt-outs a run reads ("" before any): part of a basis."""
    return current_version(workspace.warehouse, OPTOUTS_TABLE, partner) or ""


def opted_out_universe_persons(
    workspace: Workspace, spark: SparkSession, partner: PartnerConfig, universe_ids: DataFrame
) -> DataFrame | None:
    """`partner_id` of the universe's opted-out persons (None: the partner has no opt-outs)."""
    optouts = partner_optouts(workspace, spark, partner)
    if optouts is None:
        return None
    return opted_out_persons(
        universe_ids, optouts, hash_type=partner.hash, encoding=partner.hash_encoding
    )


def opted_out_current_persons(
    workspace: Workspace, spark: SparkSession, partner: PartnerConfig
) -> DataFrame | None:
    """Opted-out persons of the partner's current ingested universe, plus every partner ID
    opted out by name (None: no opt-outs)."""
    optouts = partner_optouts(workspace, spark, partner)
    if optouts is None:
        return None
    universe = current_universe(workspace, spark, partner.name)
    if universe is None:
        return optouts.where(F.col("kind") == "partner_id").select(F.col("key").alias("partner_id"))
    return opted_out_universe_persons(
        workspace, spark, partner, ingested_identifiers(universe, partner)
    )


def opted_out_members(workspace: Workspace, spark: SparkSession) -> DataFrame | None:
    """`profileId` of every profile an opt-out reaches: matched to an opted-out person (by the
    committed matches), or holding an identifier that hashes to an opted-out key. Read at every
    export, so a segment computed before the opt-out arrived still loses the person."""
    found = []
    for partner in workspace.config.partners:
        optouts = partner_optouts(workspace, spark, partner)
        if optouts is None:
            continue
        persons = opted_out_current_persons(workspace, spark, partner)
        matches = committed_table(spark, workspace.warehouse, MATCHES_TABLE, partner.name)
        if matches is not None and persons is not None:
            found.append(matches.join(F.broadcast(persons), "partner_id", "left_semi"))
        seed_ids = committed_table(spark, workspace.warehouse, SEED_IDENTIFIERS_TABLE, partner.name)
        if seed_ids is not None:
            keys = seed_hash_keys(seed_ids, hash_type=partner.hash, encoding=partner.hash_encoding)
            found.append(
                opted_out_profiles(
                    keys, optouts, hash_type=partner.hash, encoding=partner.hash_encoding
                )
            )
    if not found:
        return None
    profiles = reduce(DataFrame.unionByName, [f.select("profile_id") for f in found])
    return profiles.select(F.col("profile_id").alias(PROFILE_ID_FIELD)).distinct()
