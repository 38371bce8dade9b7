"""What changed since a partner's last match: the basis a match records, and the changes since.

A match commits its evidence with its basis: the universe delivery it read (the ingest run),
the seed_identifiers version and a fingerprint of the partner's match settings. The next match
compares: persons changed by the delta deliveries committed since (each delta keeps its last
change per person in `partner_changes`), profiles whose identifiers differ between the two
seed_identifiers versions. Anything it cannot account for exactly (no basis, a full delivery,
changed settings, a version vacuumed away) makes the match run in full, and says why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.deltas import FILE_ORDER, OPERATION, UPSERT, latest_changes
from ingest.matching import changed_profiles
from jobs.config import PartnerConfig, Workspace
from jobs.warehouse.catalogue import (
    MATCH_EVIDENCE_TABLE,
    PARTNER_CHANGES_TABLE,
    SEED_IDENTIFIERS_TABLE,
)
from jobs.warehouse.commits import Store, commit_history, read_manifest, unit_name
from jobs.warehouse.universe import universe_unit

# Part of every basis: a change to how evidence is built or scored invalidates old evidence.
MATCH_RULES_VERSION = 1


def match_settings(partner: PartnerConfig) -> str:
    """A fingerprint of the partner settings that decide evidence, scores and picks."""
    relevant = {
        "rules": MATCH_RULES_VERSION,
        "hash": partner.hash,
        "encoding": partner.hash_encoding,
        "match": partner.match.model_dump(),
        "identifiers": [i.model_dump() for i in partner.mapping.identifiers],
        "confidence": partner.mapping.confidence,
    }
    text = json.dumps(relevant, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def match_basis(partner: PartnerConfig, *, delivery: str | None, seeds: str) -> dict[str, str]:
    """What a match read, recorded with its evidence for the next match to compare against."""
    settings = match_settings(partner)
    return {"delivery": delivery or "", "seed_identifiers": seeds, "settings": settings}


@dataclass(frozen=True)
class MatchChanges:
    """The changes since the last match, or why the match must run in full."""

    full_because: str | None = None
    changed_persons: DataFrame | None = None  # partner_id of every person upserted or deleted
    upserted: DataFrame | None = None  # the current rows of the upserted persons
    changed_profiles: DataFrame | None = None  # profile_id of every seed whose identifiers moved

    @classmethod
    def full(cls, because: str) -> MatchChanges:
        return cls(full_because=because)


def _exists(store: Store, relative: str) -> bool:
    return bool(store.names(relative))


def person_changes(
    workspace: Workspace, spark: SparkSession, partner: str, *, since: str, now: str
) -> tuple[DataFrame, DataFrame] | str:
    """Every person changed by the deliveries committed after `since` up to `now` (ingest
    runs), with the current rows of the upserted ones; or why they cannot be known."""
    store = Store(workspace.warehouse, spark)
    unit = universe_unit(partner)
    entries = [r.tables[unit] for r in commit_history(store) if unit in r.tables]
    starts = [i for i, entry in enumerate(entries) if entry.workflow_id == since]
    if not starts:
        return "the delivery it matched is no longer in the warehouse's commit history"
    later = entries[starts[-1] + 1 :]
    if not later or later[-1].workflow_id != now:
        return "the partner's current delivery is not a successor of the one it matched"
    folders = [entry.details.get("changes") for entry in later]
    if not all(folders):
        return "a full delivery was ingested since"
    relative = [f"{PARTNER_CHANGES_TABLE}/{partner}/{f}" for f in folders]
    if not all(_exists(store, path) for path in relative):
        return "a delta's change record is missing"
    frames = [
        spark.read.parquet(store.uri(path)).withColumn(FILE_ORDER, F.lit(order))
        for order, path in enumerate(relative)
    ]
    latest = latest_changes(reduce(DataFrame.unionByName, frames))
    upserted = latest.where(F.col(OPERATION) == UPSERT).drop(OPERATION)
    return latest.select("partner_id"), upserted


def seed_changes(
    workspace: Workspace,
    spark: SparkSession,
    partner: str,
    current: DataFrame,
    *,
    since: str,
    now: str,
) -> DataFrame | None | str:
    """Profiles whose identifiers differ from the seed_identifiers version `since` (None: the
    same version), or why they cannot be known."""
    if since == now:
        return None
    store = Store(workspace.warehouse, spark)
    relative = f"{unit_name(SEED_IDENTIFIERS_TABLE, partner)}/{since}"
    if not _exists(store, relative):
        return "the seed identifiers it matched were vacuumed"
    return changed_profiles(spark.read.parquet(store.uri(relative)), current)


def changes_since_last_match(
    workspace: Workspace,
    spark: SparkSession,
    partner: PartnerConfig,
    seed_identifiers: DataFrame,
    *,
    basis: dict[str, str],
) -> MatchChanges:
    """Compare the last committed match's basis with `basis` (this run's)."""
    unit = unit_name(MATCH_EVIDENCE_TABLE, partner.name)
    entry = read_manifest(workspace.warehouse, spark).tables.get(unit)
    if entry is None:
        return MatchChanges.full("no earlier match")
    before = entry.details
    if not before.get("seed_identifiers"):
        return MatchChanges.full("the earlier match recorded no basis")
    if before.get("settings") != basis["settings"]:
        return MatchChanges.full("the partner's match settings changed")
    if not basis["delivery"] or not before.get("delivery"):
        return MatchChanges.full("the universe is read from the delivery file, not ingested")
    persons: tuple[DataFrame, DataFrame] | None = None
    if before["delivery"] != basis["delivery"]:
        found = person_changes(
            workspace, spark, partner.name, since=before["delivery"], now=basis["delivery"]
        )
        if isinstance(found, str):
            return MatchChanges.full(found)
        persons = found
    profiles = seed_changes(
        workspace,
        spark,
        partner.name,
        seed_identifiers,
        since=before["seed_identifiers"],
        now=basis["seed_identifiers"],
    )
    if isinstance(profiles, str):
        return MatchChanges.full(profiles)
    return MatchChanges(
        changed_persons=persons[0] if persons else None,
        upserted=persons[1] if persons else None,
        changed_profiles=profiles,
    )
