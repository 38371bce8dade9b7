"""Matching seeds to a partner universe: evidence per criterion, Noisy-OR scores, canonical pick.

Every link between a profile and a partner person is kept as evidence, one row per criterion,
so nothing is lost when identifiers disagree. Profiles are never merged: a partner
person linked to several profiles is reported on each, not used to join them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial, reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ingest.identity.detection import hash_bytes, written_hash_bytes

UNIVERSE_IDENTIFIER_COLUMNS = ("partner_id", "kind", "source_column", "hash_key", "confidence")
EVIDENCE_COLUMNS = (
    "profile_id",
    "partner",
    "partner_id",
    "criterion_type",
    "kind",
    "quality_score",
    "source_columns",
    "workflow_id",
)
CANDIDATE_COLUMNS = (
    "profile_id",
    "partner",
    "partner_id",
    "overall_quality_score",
    "matched_on",
)
MATCH_COLUMNS = (
    "profile_id",
    "partner",
    "partner_id",
    "overall_quality_score",
    "matched_on",
    "candidate_count",
    "profiles_sharing_partner_id",
    "workflow_id",
)


@dataclass(frozen=True)
class IdentifierSource:
    """One identifier column of a partner file and its kind."""

    column: str
    kind: str


def universe_identifiers(
    universe: DataFrame,
    *,
    partner_id: str,
    identifiers: Sequence[IdentifierSource],
    confidence: str | None,
    hash_type: str,
    encoding: str,
) -> DataFrame:
    """The universe in long form: one row per (partner person, identifier value)."""
    entries = [
        F.struct(
            F.lit(source.kind).alias("kind"),
            F.lit(source.column).alias("source_column"),
            written_hash_bytes(F.col(source.column), hash_type, encoding).alias("hash_key"),
        )
        for source in identifiers
    ]
    score = F.col(confidence).try_cast("double") if confidence else F.lit(None).cast("double")
    exploded = universe.select(
        F.col(partner_id).alias("partner_id"),
        score.alias("confidence"),
        F.explode(F.array(*entries)).alias("entry"),
    )
    return exploded.where(F.col("entry.hash_key").isNotNull()).select(
        "partner_id",
        F.col("entry.kind").alias("kind"),
        F.col("entry.source_column").alias("source_column"),
        F.col("entry.hash_key").alias("hash_key"),
        "confidence",
    )


def seed_hash_keys(seed_identifiers: DataFrame, *, hash_type: str, encoding: str) -> DataFrame:
    """Accepted seed identifiers with their hash in the same binary form as the universe's."""
    accepted = seed_identifiers.where(F.col("reason").isNull() & F.col("hash").isNotNull())
    return accepted.select(
        "profile_id",
        "kind",
        hash_bytes(F.col("hash"), hash_type, encoding).alias("hash_key"),
    )


def quality_score(confidence: Column, kind: Column, defaults: Mapping[str, float]) -> Column:
    """The partner's confidence where it gave a usable one, else the criterion's default."""
    default = F.try_element_at(
        F.create_map(*[F.lit(x) for item in defaults.items() for x in item]), kind
    )
    usable = confidence.isNotNull() & (confidence >= 0) & (confidence <= 1)
    return F.when(usable, confidence).otherwise(default)


def match_evidence(
    seed_keys: DataFrame,
    universe_ids: DataFrame,
    *,
    partner: str,
    hash_type: str,
    criterion_scores: Mapping[str, float],
    workflow_id: str,
    broadcast_seeds: bool,
) -> DataFrame:
    """Equi-join on (kind, binary hash); one evidence row per profile, person and criterion.

    The seed side is usually far smaller than the universe, so it is broadcast when it fits:
    the universe is then scanned once and never shuffled.
    """
    seeds_side = F.broadcast(seed_keys) if broadcast_seeds else seed_keys
    joined = universe_ids.join(seeds_side, on=["kind", "hash_key"], how="inner")
    grouped = joined.groupBy("profile_id", "partner_id", "kind").agg(
        F.max(quality_score(F.col("confidence"), F.col("kind"), criterion_scores)).alias(
            "quality_score"
        ),
        F.sort_array(F.collect_set("source_column")).alias("source_columns"),
    )
    return grouped.select(
        "profile_id",
        F.lit(partner).alias("partner"),
        "partner_id",
        F.concat_ws("_", F.col("kind"), F.lit(hash_type)).alias("criterion_type"),
        "kind",
        F.col("quality_score").cast("double").alias("quality_score"),
        "source_columns",
        F.lit(workflow_id).alias("workflow_id"),
    )


def changed_profiles(before: DataFrame, after: DataFrame) -> DataFrame:
    """Profiles whose usable identifiers differ between two seed_identifiers versions (added,
    removed or hashed differently): one full outer join, one row per profile ID."""

    def usable(frame: DataFrame, flag: str) -> DataFrame:
        accepted = frame.where(F.col("reason").isNull() & F.col("hash").isNotNull())
        return accepted.select("profile_id", "kind", "hash", F.lit(True).alias(flag))

    joined = usable(before, "_before").join(
        usable(after, "_after"), ["profile_id", "kind", "hash"], "full_outer"
    )
    differs = F.col("_before").isNull() | F.col("_after").isNull()
    return joined.where(differs).select("profile_id").distinct()


def rematched_evidence(
    previous: DataFrame,
    seed_keys: DataFrame,
    *,
    changed_persons: DataFrame | None,
    upserted_ids: DataFrame | None,
    changed_profiles: DataFrame | None,
    universe_ids: DataFrame,
    partner: str,
    hash_type: str,
    criterion_scores: Mapping[str, float],
    workflow_id: str,
) -> DataFrame:
    """The evidence a full match would give, recomputed only where something changed.

    An evidence row depends only on its profile's identifiers and its person's, so the full
    answer is: the previous rows of unchanged profiles and persons; unchanged profiles against
    the changed persons' new identifiers (`upserted_ids`, tiny, broadcast); changed profiles
    against the whole universe (only then is the universe scanned, with them broadcast).
    `changed_persons` names every person changed or deleted.
    """
    evidence = partial(
        match_evidence,
        partner=partner,
        hash_type=hash_type,
        criterion_scores=criterion_scores,
        workflow_id=workflow_id,
    )
    kept, unchanged_seeds = previous, seed_keys
    parts = []
    if changed_profiles is not None:
        profiles = F.broadcast(changed_profiles)
        kept = kept.join(profiles, "profile_id", "left_anti")
        unchanged_seeds = seed_keys.join(profiles, "profile_id", "left_anti")
        changed_seeds = seed_keys.join(profiles, "profile_id", "left_semi")
        parts.append(evidence(changed_seeds, universe_ids, broadcast_seeds=True))
    if changed_persons is not None and upserted_ids is not None:
        kept = kept.join(F.broadcast(changed_persons), "partner_id", "left_anti")
        new_rows = F.broadcast(upserted_ids)
        parts.append(evidence(unchanged_seeds, new_rows, broadcast_seeds=False))
    return reduce(DataFrame.unionByName, parts, kept.select(*EVIDENCE_COLUMNS))


def noisy_or(scores: Column) -> Column:
    """1 - prod(1 - s): 0.9 and 0.1 give 0.91; 0.6 and 0.6 give 0.84."""
    return F.lit(1.0) - F.product(F.lit(1.0) - scores)


def combine_scores(scores: Iterable[float]) -> float:
    """The pure-Python twin of noisy_or, for small in-memory answers (`partnerkit resolve`)."""
    remaining = 1.0
    for score in scores:
        remaining *= 1.0 - score
    return round(1.0 - remaining, 6)


def score_candidates(evidence: DataFrame) -> DataFrame:
    """One row per (profile, partner person) with the Noisy-OR of its criteria.

    The evidence is shuffled by profile alone: that partitioning also serves the per-profile
    pick in choose_canonical, so scoring and picking share one exchange.
    """
    scored = (
        evidence.repartition("profile_id")
        .groupBy("profile_id", "partner", "partner_id")
        .agg(
            F.round(noisy_or(F.col("quality_score")), 6).alias("overall_quality_score"),
            F.sort_array(F.collect_list("criterion_type")).alias("matched_on"),
        )
    )
    return scored.select(*CANDIDATE_COLUMNS)


def choose_canonical(candidates: DataFrame, *, threshold: float, workflow_id: str) -> DataFrame:
    """The best partner person per profile above the threshold; ties go to the lower ID.

    Both ambiguities are reported, never resolved by merging: `candidate_count` (persons above
    the threshold for this profile) and `profiles_sharing_partner_id` (profiles whose canonical
    person is this same one). The pick is one aggregation: the smallest (-score, partner_id).
    """
    eligible = candidates.where(F.col("overall_quality_score") >= threshold)
    ranked = F.struct(
        (-F.col("overall_quality_score")).alias("rank"),
        *[F.col(name) for name in CANDIDATE_COLUMNS if name not in ("profile_id", "partner")],
    )
    best = eligible.groupBy("profile_id", "partner").agg(
        F.min(ranked).alias("best"), F.count(F.lit(1)).alias("candidate_count")
    )
    canonical = best.select("profile_id", "partner", "best.*", "candidate_count")
    per_person = Window.partitionBy("partner", "partner_id")
    return canonical.withColumn(
        "profiles_sharing_partner_id", F.count(F.lit(1)).over(per_person)
    ).select(
        *CANDIDATE_COLUMNS,
        F.col("candidate_count").cast("int").alias("candidate_count"),
        F.col("profiles_sharing_partner_id").cast("int").alias("profiles_sharing_partner_id"),
        F.lit(workflow_id).alias("workflow_id"),
    )


def pick_matches(evidence: DataFrame, *, threshold: float, workflow_id: str) -> DataFrame:
    """Evidence to canonical matches: Noisy-OR per (profile, person), then the pick."""
    return choose_canonical(
        score_candidates(evidence), threshold=threshold, workflow_id=workflow_id
    )


def _profile_totals(
    seed_identifiers: DataFrame, evidence: DataFrame, matches: DataFrame
) -> dict[str, int]:
    """Profiles requested, resolved, with no valid identifier, and linked but not resolved.

    The three tables are stacked as per-profile flags and folded in one aggregation, with no
    join. A match always rests on evidence, so a resolved profile is also a linked one.
    """
    flags = ("requested", "valid", "linked", "resolved")

    def stack(frame: DataFrame, **values: Column) -> DataFrame:
        return frame.select(
            "profile_id", *[values.get(flag, F.lit(False)).alias(flag) for flag in flags]
        )

    stacked = (
        stack(seed_identifiers, requested=F.lit(True), valid=F.col("reason").isNull())
        .unionByName(stack(evidence, linked=F.lit(True)))
        .unionByName(stack(matches, linked=F.lit(True), resolved=F.lit(True)))
    )
    per_profile = stacked.groupBy("profile_id").agg(*[F.bool_or(f).alias(f) for f in flags])
    requested = F.col("requested")
    totals = per_profile.agg(
        F.count_if(requested).alias("requested"),
        F.count_if(requested & F.col("resolved")).alias("resolved"),
        F.count_if(requested & ~F.col("valid")).alias("invalid"),
        F.count_if(requested & F.col("linked") & ~F.col("resolved")).alias("below_threshold"),
    ).collect()  # a global aggregation: exactly one row, zeros when nothing was requested
    return totals[0].asDict()


def _kind_totals(
    seed_identifiers: DataFrame, matches: DataFrame, *, hash_type: str
) -> dict[str, tuple[int, int]]:
    """Per identifier kind: (profiles with a valid identifier, profiles resolved on it).

    `seed_identifiers` holds one row per (profile, kind), so valid rows count profiles; a
    match's `matched_on` names each criterion as `<kind>_<hash type>`, once per kind.
    """
    valid = seed_identifiers.where(F.col("reason").isNull()).select(
        "kind", F.lit(False).alias("resolved")
    )
    criteria = matches.select(F.explode("matched_on").alias("criterion"))
    resolved = criteria.select(
        F.regexp_replace("criterion", f"_{hash_type}$", "").alias("kind"),
        F.lit(True).alias("resolved"),
    )
    rows = (
        valid.unionByName(resolved)
        .groupBy("kind")
        .agg(
            F.count_if(~F.col("resolved")).alias("requested"),
            F.count_if(F.col("resolved")).alias("resolved"),
        )
        .collect()
    )
    return {row["kind"]: (row["requested"], row["resolved"]) for row in rows}


def match_stats(
    seed_identifiers: DataFrame, evidence: DataFrame, matches: DataFrame, *, hash_type: str
) -> dict[str, object]:
    """Requested, resolved and rate: overall, per identifier kind and hash type; why not.

    Two small Spark jobs, both aggregations of stacked narrow columns: no join.
    """
    totals = _profile_totals(seed_identifiers, evidence, matches)
    by_kind = _kind_totals(seed_identifiers, matches, hash_type=hash_type)
    requested, matched = totals["requested"], totals["resolved"]
    invalid, below_threshold = totals["invalid"], totals["below_threshold"]
    return {
        **_rate(requested, matched),
        "by_identifier": {name: _rate(*figures) for name, figures in sorted(by_kind.items())},
        "by_hash_type": {hash_type: _rate(requested, matched)},
        "unmatched": {
            "invalid_identifier": invalid,
            "below_threshold": below_threshold,
            "not_in_universe": requested - matched - invalid - below_threshold,
        },
    }


def matched_since(previous: DataFrame, current: DataFrame) -> dict[str, int]:
    """Profiles matched now and not by the previous run (`new`), and the reverse (`lost`):
    one full outer join on the profile ID."""
    before = previous.select("profile_id", F.lit(True).alias("_before"))
    now = current.select("profile_id", F.lit(True).alias("_now"))
    joined = before.join(now, "profile_id", "full_outer")
    row = joined.agg(
        F.count_if(F.col("_before").isNull()).alias("new"),
        F.count_if(F.col("_now").isNull()).alias("lost"),
    ).first()
    assert row is not None
    return {"new": int(row["new"]), "lost": int(row["lost"])}


def _rate(requested: int, resolved: int) -> dict[str, object]:
    rate = round(resolved / requested, 4) if requested else 0.0
    return {"requested": requested, "resolved": resolved, "rate": rate}
