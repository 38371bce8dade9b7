"""Seed preparation: normalize and hash each 1P identifier the way one partner did."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.identity import columns as rules
from ingest.identity.profiles import EMPTY, Profile

SEED_IDENTIFIER_COLUMNS = (
    "profile_id",
    "partner",
    "kind",
    "profile_version",
    "hash_type",
    "hash",
    "reason",
    "workflow_id",
)


@dataclass(frozen=True)
class SeedColumnNames:
    """Which seed columns hold what (None: the file has no such column)."""

    profile_id: str
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


def _column(name: str | None) -> Column:
    return F.col(name) if name else F.lit(None).cast("string")


def _address_parts(names: SeedColumnNames) -> list[Column]:
    return [_column(n) for n in (names.street, names.city, names.state, names.postal_code)]


def _amazon_street(profile: Profile) -> bool:
    return bool(profile.address and profile.address.format == "amazon_street")


def seed_originals(names: SeedColumnNames, profile: Profile) -> dict[str, Column]:
    """Per kind the seeds can supply for `profile`, the value as written (what a steward fixes)."""
    originals: dict[str, Column] = {}
    if names.email and profile.supports("email"):
        originals["email"] = F.col(names.email)
    if names.phone and profile.supports("phone"):
        originals["phone"] = F.col(names.phone)
    if names.street and _amazon_street(profile):
        originals["address"] = F.col(names.street)
    elif names.street and profile.supports("address"):
        originals["address"] = F.concat_ws(", ", *_address_parts(names))
    return originals


def _normalized(
    kind: str, names: SeedColumnNames, profile: Profile, default_country: str | None
) -> Column:
    """The (value, reason) struct of one kind's rule over the seed columns."""
    if kind == "address" and not _amazon_street(profile):
        return rules.normalize_address(*_address_parts(names))
    # Phones and Amazon's street lines read the seed's country (else the default).
    column = F.col({"email": names.email, "phone": names.phone, "address": names.street}[kind])
    country = _column(names.country) if kind != "email" else None
    return rules.normalize_identifier(
        kind, profile, column, country=country, default_country=default_country
    )


def prepare_seed_identifiers(
    seeds: DataFrame,
    *,
    names: SeedColumnNames,
    partner: str,
    profile: Profile,
    hash_type: str,
    encoding: str,
    default_country: str | None,
    workflow_id: str,
) -> DataFrame:
    """One row per (profile, kind): the hash, or NULL and the reason it was rejected.

    Each kind is normalized in its own projection and the kinds are unioned: one projection
    holding all three rules took 77 s of task time for 1M seeds cold, three took 61 s
    (smaller generated methods, which the JIT compiles sooner). No value as written is
    carried along: `seed_quarantine` fetches the few rejected ones from the seed rows.
    """
    kinds = list(seed_originals(names, profile))
    if not kinds:
        raise ValueError(
            f"partner {partner!r}: the seed columns supply no kind {profile.label} uses"
        )
    per_kind = []
    for kind in kinds:
        with rules.staging(seeds) as stage:
            normalized = _normalized(kind, names, profile, default_country)
        entry = F.struct(
            F.lit(kind).alias("kind"),
            normalized["value"].alias("value"),
            normalized["reason"].alias("reason"),
        )
        # A generator, even of one row, is where the optimizer stops pushing a filter on
        # `reason` down: pushed into the staged projections it would inline every bound
        # intermediate again and grow without bound (a 3-row test ran out of memory).
        per_kind.append(
            stage.frame.select(
                F.col(names.profile_id).alias("profile_id"), F.inline(F.array(entry))
            )
        )
    identifiers = reduce(DataFrame.unionByName, per_kind)
    return identifiers.select(
        "profile_id",
        F.lit(partner).alias("partner"),
        "kind",
        F.lit(profile.label).alias("profile_version"),
        F.lit(hash_type).alias("hash_type"),
        rules.hash_value(F.col("value"), hash_type, encoding).alias("hash"),
        "reason",
        F.lit(workflow_id).alias("workflow_id"),
    )


def seed_quarantine(
    identifiers: DataFrame, seeds: DataFrame, *, names: SeedColumnNames, profile: Profile
) -> DataFrame:
    """Rejected non-empty identifiers with the value as written, for a steward to fix.

    The rejected (profile, kind) pairs are joined back to their seed rows (one per profile
    ID: `judge_seed_rows` quarantined the repeats), so the pass that applies the rules never
    carries plaintext beside the hashes, and nothing of it is cached to serve this table.
    """
    rejected = identifiers.where(F.col("reason").isNotNull() & (F.col("reason") != EMPTY))
    originals = seed_originals(names, profile)
    rows = seeds.select(
        F.col(names.profile_id).alias("_seed_profile_id"),
        *[value.alias(f"_as_written_{kind}") for kind, value in originals.items()],
    )
    as_written = F.lit(None).cast("string")
    for kind in originals:
        as_written = F.when(F.col("kind") == kind, F.col(f"_as_written_{kind}")).otherwise(
            as_written
        )
    joined = rejected.join(rows, F.col("profile_id") == F.col("_seed_profile_id"))
    return joined.select(
        "profile_id", "partner", "kind", as_written.alias("original"), "reason", "workflow_id"
    )


def count_outcomes(prepared: DataFrame) -> dict[str, int]:
    """accepted / empty / rejected per kind, and rejections per reason, from one aggregation.

    The outcomes per kind add up to the identifiers considered.
    """
    rows = prepared.groupBy("kind", "reason").count().collect()
    counts: dict[str, int] = {}
    for row in rows:
        reason = row["reason"]
        outcome = "accepted" if reason is None else "empty" if reason == EMPTY else "rejected"
        key = f"{row['kind']}.{outcome}"
        counts[key] = counts.get(key, 0) + row["count"]
        if outcome == "rejected":
            counts[f"reason.{reason}"] = counts.get(f"reason.{reason}", 0) + row["count"]
    return dict(sorted(counts.items()))


ROW_POSITION = "_row_position"


# Above this many repeated profile IDs the first positions are joined by a shuffle, not broadcast.
BROADCAST_REPEATS_MAX = 2_000_000


def judge_seed_rows(seeds: DataFrame, *, profile_id: str, workflow_id: str) -> DataFrame:
    """The seed rows with `reason`: NULL for a valid row, else why it is quarantined.

    A row without a profile_id, or repeating one (the first occurrence in file order is kept),
    is rejected. Repeats are found on the narrow (profile_id, position) projection, and only
    their first positions are joined back (none in the usual file): a window over whole rows
    shuffled and sorted the entire seed set. Counting the repeats runs one Spark job here.
    The caller passes the seed rows cached, so the file is parsed once and the positions
    (`monotonically_increasing_id`, fixed by the cached partitions) agree between that job
    and every later use; it splits the result with `valid_seed_rows` and `rejected_seed_rows`.
    """
    positioned = seeds.withColumn(ROW_POSITION, F.monotonically_increasing_id())
    key = F.col(profile_id)
    firsts = (
        positioned.groupBy(key.alias("_repeated_id"))
        .agg(F.min(ROW_POSITION).alias("_first_position"), F.count(F.lit(1)).alias("_copies"))
        .where(F.col("_copies") > 1)
        .drop("_copies")
    )
    repeats = firsts.count()
    if repeats:
        side = F.broadcast(firsts) if repeats <= BROADCAST_REPEATS_MAX else firsts
        positioned = positioned.join(side, key == F.col("_repeated_id"), "left")
        repeated = F.col(ROW_POSITION) > F.col("_first_position")
    else:
        repeated = F.lit(False)
    reason = F.when(rules.is_blank(key), F.lit("profile_id_missing")).when(
        repeated, F.lit("duplicate_profile_id")
    )
    judged = positioned.withColumn("reason", reason).withColumn("workflow_id", F.lit(workflow_id))
    return judged.select(*seeds.columns, "reason", "workflow_id")


def valid_seed_rows(judged: DataFrame) -> DataFrame:
    return judged.where(F.col("reason").isNull()).drop("reason")


def rejected_seed_rows(judged: DataFrame) -> DataFrame:
    return judged.where(F.col("reason").isNotNull())
