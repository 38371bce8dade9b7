"""What changed since the last match or enrich: the basis each records, and the changes since.

A match commits its evidence with its basis: the universe delivery it read (the ingest run),
the seed_identifiers version and a fingerprint of the partner's match settings. The next match
compares: persons changed by the delta deliveries committed since (each delta keeps its last
change per person in `partner_changes`), profiles whose identifiers differ between the two
seed_identifiers versions. Anything it cannot account for exactly (no basis, a full delivery,
changed settings, a version vacuumed away) makes the match run in full, and says why.

An enrich records the versions of seeds and of each partner's matches and universe it read,
and the time it judged retention at; the next enrich rebuilds only the profiles that any of
those changes can reach, plus those whose partner record's retention has ended since.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.deltas import FILE_ORDER, OPERATION, UPSERT, latest_changes
from ingest.enrichment.profiles import PARTNER_FIELD, PROFILE_ID_FIELD
from ingest.matching import changed_profiles
from jobs.config import PartnerConfig, Workspace
from jobs.warehouse.catalogue import (
    MATCH_EVIDENCE_TABLE,
    MATCHES_TABLE,
    PARTNER_CHANGES_TABLE,
    PROFILES_TABLE,
    SEED_IDENTIFIERS_TABLE,
    SEEDS_TABLE,
)
from jobs.warehouse.commits import Store, commit_history, read_manifest, unit_name
from jobs.warehouse.optouts import optouts_version
from jobs.warehouse.tables import current_version, read_committed
from jobs.warehouse.universe import universe_delivery, universe_unit
from schemas.models import FieldDef

# Part of every basis: a change to how evidence is built or scored invalidates old evidence.
MATCH_RULES_VERSION = 1
FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9=_.-]*")


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
    return fingerprint(relevant)


def fingerprint(document: Any) -> str:
    """A short SHA-256 of a JSON-ready document, key order aside: what a basis records."""
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def match_basis(
    partner: PartnerConfig, *, delivery: str | None, seeds: str, suppression: str = ""
) -> dict[str, str]:
    """What a match read, recorded with its evidence for the next match to compare against
    (`suppression`: the fingerprint of the brand's suppression lists it read)."""
    settings = match_settings(partner)
    return {
        "delivery": delivery or "",
        "seed_identifiers": seeds,
        "settings": settings,
        "suppression": suppression,
    }


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

    @property
    def counts(self) -> dict[str, int]:
        """How many persons and profiles changed (what an incremental run matched again)."""
        if self.full_because is not None:
            return {}
        persons, profiles = self.changed_persons, self.changed_profiles
        return {
            "changed_persons": persons.count() if persons is not None else 0,
            "changed_profiles": profiles.count() if profiles is not None else 0,
        }


def _exists(store: Store, relative: str) -> bool:
    return bool(store.names(relative))


def _folder_name(name: object) -> bool:
    """A recorded version folder is one name inside its table (`v-...`, `batch_id=...`):
    anything else in an edited commit entry is treated as missing, never followed."""
    return isinstance(name, str) and bool(FOLDER_NAME.fullmatch(name)) and ".." not in name


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
    if not all(_folder_name(folder) for folder in folders):
        return "a delta's change record is missing"
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
    if not _folder_name(since):
        return "the earlier match's seed identifiers version is not a version folder"
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
    if before.get("suppression", "") != basis["suppression"]:
        return MatchChanges.full("the suppression lists changed")
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
    # Each is read several times (evidence kept, seeds split) and is small: computed once.
    return MatchChanges(
        changed_persons=persons[0].cache() if persons else None,
        upserted=persons[1].cache() if persons else None,
        changed_profiles=profiles.cache() if profiles is not None else None,
    )


# Part of every enrich basis: a change to how profiles are built invalidates old profiles.
ENRICH_RULES_VERSION = 1


def enrich_settings(workspace: Workspace, fields: list[FieldDef]) -> str:
    """A fingerprint of the configuration that shapes profiles: seeds, partners (mapping,
    contract, namespace), schemas and their fields, canonical order."""
    sections = {"schemas", "seeds", "partners", "canonical"}
    relevant = {
        "rules": ENRICH_RULES_VERSION,
        # where opt-outs come from does not shape a profile; the opt-outs read (a version in
        # the basis) do
        "config": workspace.config.model_dump(
            mode="json", include=sections, exclude={"partners": {"__all__": {"optouts"}}}
        ),
        "fields": [field.model_dump() for field in fields],
    }
    return fingerprint(relevant)


def enrich_basis(
    workspace: Workspace, fields: list[FieldDef], *, as_of: datetime
) -> dict[str, Any]:
    """What an enrich read: seeds and each partner's matches (versions) and universe (its
    ingest run), the time retention was judged at, and the settings fingerprint."""
    warehouse = workspace.warehouse
    return {
        "as_of": as_of.isoformat(),
        "seeds": current_version(warehouse, SEEDS_TABLE) or "",
        "settings": enrich_settings(workspace, fields),
        "partners": {
            p.name: {
                "matches": current_version(warehouse, MATCHES_TABLE, p.name) or "",
                "delivery": universe_delivery(workspace, p.name) or "",
                "optouts": optouts_version(workspace, p.name),
            }
            for p in workspace.config.partners
        },
    }


def changed_rows(before: DataFrame, after: DataFrame, *, key: str, ignore: set[str]) -> DataFrame:
    """Keys whose row differs between two versions of a table (added, removed or changed):
    each row reduced to a SHA-256 of its JSON, one full outer join on the key."""

    def digests(frame: DataFrame, name: str) -> DataFrame:
        columns = sorted(c for c in frame.columns if c not in ignore and c != key)
        row = F.to_json(F.struct(*[F.col(f"`{c}`") for c in columns]))
        return frame.select(F.col(f"`{key}`").alias("_key"), F.sha2(row, 256).alias(name))

    joined = digests(before, "_before").join(digests(after, "_after"), "_key", "full_outer")
    differs = ~F.col("_before").eqNullSafe(F.col("_after"))
    return joined.where(differs).select(F.col("_key").alias(key)).distinct()


def _version(store: Store, table: str, folder: str, partner: str | None = None) -> str | None:
    relative = f"{unit_name(table, partner)}/{folder}"
    return store.uri(relative) if _folder_name(folder) and _exists(store, relative) else None


def profiles_to_rebuild(
    workspace: Workspace,
    spark: SparkSession,
    *,
    seeds: DataFrame,
    matches: dict[str, DataFrame],
    basis: dict[str, Any],
) -> DataFrame | str:
    """The profile IDs (`profile_id`) whose profile may differ from the last enrich's, or why
    that cannot be known: seeds changed, a partner's match changed, a matched person changed
    in a delta, or a partner record's retention ended since."""
    entry = read_manifest(workspace.warehouse, spark).tables.get(PROFILES_TABLE)
    if entry is None:
        return "no earlier enrich"
    before = entry.details
    if not before.get("settings"):
        return "the earlier enrich recorded no basis"
    if before["settings"] != basis["settings"]:
        return "the workspace's profile settings changed"
    if datetime.fromisoformat(basis["as_of"]) < datetime.fromisoformat(before["as_of"]):
        return "as_of is earlier than the last enrich's"
    if before.get("suppression", "") != basis.get("suppression", ""):
        return "the suppression lists changed"
    for partner, now in basis["partners"].items():
        if before["partners"][partner].get("optouts", "") != now["optouts"]:
            return f"partner {partner}'s opt-outs changed"
    store = Store(workspace.warehouse, spark)
    profile_id = workspace.config.seeds.columns.profile_id
    parts: list[DataFrame] = []
    if before["seeds"] != basis["seeds"]:
        old = _version(store, SEEDS_TABLE, before["seeds"])
        if old is None:
            return "the seeds it read were vacuumed"
        changed = changed_rows(
            spark.read.parquet(old), seeds, key=profile_id, ignore={"workflow_id"}
        )
        parts.append(changed.select(F.col(f"`{profile_id}`").cast("string").alias("profile_id")))
    for partner, now in basis["partners"].items():
        then = before["partners"][partner]
        current = matches[partner]
        if then["matches"] != now["matches"]:
            old = _version(store, MATCHES_TABLE, then["matches"], partner)
            if old is None:
                return f"partner {partner}'s matches it read were vacuumed"
            kept = ("profile_id", "partner_id", "overall_quality_score", "matched_on")
            parts.append(
                changed_rows(
                    spark.read.parquet(old).select(*kept),
                    current.select(*kept),
                    key="profile_id",
                    ignore=set(),
                )
            )
        if then["delivery"] != now["delivery"]:
            found = person_changes(
                workspace, spark, partner, since=then["delivery"], now=now["delivery"]
            )
            if isinstance(found, str):
                return f"partner {partner}: {found}"
            persons = F.broadcast(found[0])
            parts.append(current.join(persons, "partner_id", "left_semi").select("profile_id"))
    previous = read_committed(spark, workspace.warehouse, PROFILES_TABLE)
    ends = [
        F.col(f"{PARTNER_FIELD}.{partner}.provenance.expiresAt")
        <= F.lit(datetime.fromisoformat(basis["as_of"]))
        for partner in basis["partners"]
    ]
    if ends:
        ended = previous.where(reduce(lambda a, b: a | b, ends))
        parts.append(ended.select(F.col(PROFILE_ID_FIELD).alias("profile_id")))
    if not parts:
        return spark.createDataFrame([], "profile_id string")
    return reduce(DataFrame.unionByName, parts).distinct()
