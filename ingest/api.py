"""partnerkit on DataFrames you already have: notebooks and your own Spark jobs.

The jobs read and write a workspace; these functions take and return DataFrames and compose
the same transforms the jobs do (the same normalization rules, hashes, evidence, Noisy-OR
scores, canonical pick and stats), so a notebook's match is the job's match. Nothing here
reads or writes files. Policies: `governance.api`; a workspace's schemas and policies:
`jobs.api`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ingest.identity import columns as rules
from ingest.identity.detection import detect_form, sample_values
from ingest.identity.profiles import get_profile
from ingest.matching import (
    IdentifierSource,
    match_evidence,
    match_stats,
    pick_matches,
    seed_hash_keys,
    universe_identifiers,
)
from ingest.scores import DEFAULT_CRITERION_SCORES, DEFAULT_THRESHOLD
from ingest.seeds import SeedColumnNames, prepare_seed_identifiers

__all__ = [
    "MatchResult",
    "SeedColumnNames",
    "detect_hash_forms",
    "hash_identifier",
    "match_frames",
]


def hash_identifier(
    frame: DataFrame,
    kind: str,
    column: str | Sequence[str],
    *,
    profile: str,
    hash_type: str = "sha256",
    encoding: str = "hex",
    country: str | None = None,
    default_country: str | None = None,
    output: str | None = None,
) -> DataFrame:
    """Add `<output>_normalized`, `<output>_hash` and `<output>_reason` (why a value could
    not be used, else NULL) for an email, phone or address column, by a normalization profile
    (`ndc`, `uid2`, `meta@v2`, `google`, `amazon`, ...: `partnerkit profiles` lists them).

    An address takes four columns (street, city, state, postal code), except under a
    profile that hashes the street line alone. `country` names a column of ISO country codes
    for phones and street lines; `default_country` fills it where it is empty.
    """
    rule = get_profile(profile)
    names = [column] if isinstance(column, str) else list(column)
    output = output or f"{names[0]}_{kind}"
    country_column = F.col(country) if country else None
    if kind == "address" and not (rule.address and rule.address.format == "amazon_street"):
        if len(names) != 4:
            raise ValueError("an address takes four columns: street, city, state, postal code")
        normalized = rules.normalize_address(*(F.col(n) for n in names))
    else:
        if len(names) != 1:
            raise ValueError(f"a {kind} takes one column, got {len(names)}")
        normalized = rules.normalize_identifier(
            kind,
            rule,
            F.col(names[0]),
            country=country_column,
            default_country=default_country,
        )
    return (
        frame.withColumn(f"{output}_struct", normalized)
        .withColumn(f"{output}_normalized", F.col(f"{output}_struct.value"))
        .withColumn(
            f"{output}_hash", rules.hash_value(F.col(f"{output}_normalized"), hash_type, encoding)
        )
        .withColumn(f"{output}_reason", F.col(f"{output}_struct.reason"))
        .drop(f"{output}_struct")
    )


def detect_hash_forms(
    frame: DataFrame, columns: Sequence[str], *, sample_size: int = 1000
) -> dict[str, str]:
    """What each column holds, judged on a sample as ingest judges a delivery: `sha256`
    (hex), `sha256_base64`, `md5`, `plaintext_email`, `plaintext_phone`, `mixed`, `empty`..."""
    samples = sample_values(frame, list(columns), size=sample_size)
    return {column: detect_form(values) for column, values in samples.items()}


@dataclass(frozen=True)
class MatchResult:
    """A match's tables, as the match job writes them, and its stats."""

    seed_identifiers: DataFrame  # (profile, kind) -> hash, or the reason it was rejected
    evidence: DataFrame  # one row per (profile, partner person, criterion)
    matches: DataFrame  # the canonical partner person of each matched profile
    stats: dict[str, object]  # requested, resolved, rate; per kind; why not matched


def match_frames(
    seeds: DataFrame,
    universe: DataFrame,
    *,
    seed_columns: SeedColumnNames,
    partner_id: str,
    identifiers: Mapping[str, str],
    profile: str,
    partner: str = "partner",
    confidence: str | None = None,
    hash_type: str = "sha256",
    encoding: str = "hex",
    threshold: float = DEFAULT_THRESHOLD,
    criterion_scores: Mapping[str, float] = DEFAULT_CRITERION_SCORES,
    default_country: str | None = None,
    run_id: str = "api",
) -> MatchResult:
    """Match a seeds DataFrame against a partner universe DataFrame.

    `identifiers` maps each hashed identifier column of the universe to its kind (`email`,
    `phone`, `address`, `maid`); the seeds are normalized and hashed by `profile`,
    `hash_type` and `encoding` as the partner did. Every link is kept as evidence; a
    profile's match is its best-scoring person at or above `threshold` (Noisy-OR of its
    criteria), ties to the lower ID; profiles are never merged. `run_id` fills the
    `workflow_id` column the job's tables carry. The stats run two small Spark jobs; the
    tables are lazy.
    """
    identified = prepare_seed_identifiers(
        seeds,
        names=seed_columns,
        partner=partner,
        profile=get_profile(profile),
        hash_type=hash_type,
        encoding=encoding,
        default_country=default_country,
        workflow_id=run_id,
    )
    universe_ids = universe_identifiers(
        universe,
        partner_id=partner_id,
        identifiers=[IdentifierSource(column, kind) for column, kind in identifiers.items()],
        confidence=confidence,
        hash_type=hash_type,
        encoding=encoding,
    )
    evidence = match_evidence(
        seed_hash_keys(identified, hash_type=hash_type, encoding=encoding),
        universe_ids,
        partner=partner,
        hash_type=hash_type,
        criterion_scores=criterion_scores,
        workflow_id=run_id,
        broadcast_seeds=False,
    )
    matches = pick_matches(evidence, threshold=threshold, workflow_id=run_id)
    stats = match_stats(identified, evidence, matches, hash_type=hash_type)
    return MatchResult(identified, evidence, matches, stats)
