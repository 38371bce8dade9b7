"""Matching transforms on a few inline rows: evidence, Noisy-OR, canonical choice, stats."""

from __future__ import annotations

import hashlib

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from ingest.matching import (
    EVIDENCE_COLUMNS,
    IdentifierSource,
    choose_canonical,
    match_evidence,
    match_stats,
    score_candidates,
    seed_hash_keys,
    universe_identifiers,
)

SCORES = {"email": 0.9, "phone": 0.1, "address": 0.6, "maid": 0.7}


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_noisy_or_matches_seed_000_examples(spark: SparkSession) -> None:
    evidence = spark.createDataFrame(
        [
            ("p1", "acme", "A", "email_sha256", 0.9),
            ("p1", "acme", "A", "phone_sha256", 0.1),
            ("p2", "acme", "B", "email_sha256", 0.6),
            ("p2", "acme", "B", "address_sha256", 0.6),
            ("p3", "acme", "C", "email_sha256", 0.95),
        ],
        "profile_id string, partner string, partner_id string, criterion_type string,"
        " quality_score double",
    )
    scores = {r.profile_id: r.overall_quality_score for r in score_candidates(evidence).collect()}
    assert scores == {"p1": pytest.approx(0.91), "p2": pytest.approx(0.84), "p3": 0.95}


def test_choose_canonical_breaks_ties_by_partner_id_and_reports_ambiguity(
    spark: SparkSession,
) -> None:
    candidates = spark.createDataFrame(
        [
            ("p1", "acme", "B", 0.9, ["email_sha256"]),  # tie with A: A wins (lower ID)
            ("p1", "acme", "A", 0.9, ["phone_sha256"]),
            ("p2", "acme", "A", 0.8, ["email_sha256"]),  # A is also p1's canonical person
            ("p3", "acme", "C", 0.4, ["address_sha256"]),  # below threshold: no match
        ],
        "profile_id string, partner string, partner_id string, overall_quality_score double,"
        " matched_on array<string>",
    )
    matches = choose_canonical(candidates, threshold=0.5, workflow_id="wf")
    expected = spark.createDataFrame(
        [
            ("p1", "acme", "A", 0.9, ["phone_sha256"], 2, 2, "wf"),
            ("p2", "acme", "A", 0.8, ["email_sha256"], 1, 2, "wf"),
        ],
        matches.schema,
    )
    assertDataFrameEqual(matches, expected)


def test_match_evidence_keeps_one_row_per_criterion_and_every_person(
    spark: SparkSession,
) -> None:
    # Person X has the seed's email twice (email1 and email2); person Y shares the phone.
    universe = spark.createDataFrame(
        [
            ("X", sha("jane@example.com"), sha("jane@example.com").upper(), None, None),
            ("Y", None, None, sha("2015550100"), "0.75"),
            ("Z", sha("other@example.com"), None, None, None),
        ],
        "pid string, email1 string, email2 string, phone1 string, conf string",
    )
    universe_ids = universe_identifiers(
        universe,
        partner_id="pid",
        identifiers=[
            IdentifierSource("email1", "email"),
            IdentifierSource("email2", "email"),
            IdentifierSource("phone1", "phone"),
        ],
        confidence="conf",
        hash_type="sha256",
        encoding="hex",
    )
    seeds = spark.createDataFrame(
        [
            ("p1", "email", sha("jane@example.com"), None),
            ("p1", "phone", sha("2015550100"), None),
            ("p2", "email", None, "email_syntax"),
        ],
        "profile_id string, kind string, hash string, reason string",
    )
    keys = seed_hash_keys(seeds, hash_type="sha256", encoding="hex")
    evidence = match_evidence(
        keys,
        universe_ids,
        partner="acme",
        hash_type="sha256",
        criterion_scores=SCORES,
        workflow_id="wf",
        broadcast_seeds=True,
    )
    assert tuple(evidence.columns) == EVIDENCE_COLUMNS
    rows = {(r.partner_id, r.criterion_type): r for r in evidence.collect()}
    assert set(rows) == {("X", "email_sha256"), ("Y", "phone_sha256")}
    assert rows[("X", "email_sha256")].source_columns == ["email1", "email2"]
    assert rows[("X", "email_sha256")].quality_score == 0.9  # no confidence: the default
    assert rows[("Y", "phone_sha256")].quality_score == 0.75  # the partner's confidence

    matches = choose_canonical(score_candidates(evidence), threshold=0.5, workflow_id="wf")
    (match,) = matches.collect()  # p1 links to X and Y: reported, not merged
    assert (match.profile_id, match.partner_id, match.candidate_count) == ("p1", "X", 2)
    stats = match_stats(seeds, evidence, matches, hash_type="sha256")
    assert stats["requested"] == 2 and stats["resolved"] == 1 and stats["rate"] == 0.5
    assert stats["by_identifier"]["email"] == {"requested": 1, "resolved": 1, "rate": 1.0}
    assert stats["unmatched"] == {
        "invalid_identifier": 1,
        "below_threshold": 0,
        "not_in_universe": 0,
    }


def test_universe_identifiers_compare_base64_hashes_as_bytes(spark: SparkSession) -> None:
    import base64

    digest = hashlib.sha256(b"jane@example.com").digest()
    universe = spark.createDataFrame(
        [("X", base64.b64encode(digest).decode()), ("Y", "not base64!")], "pid string, e string"
    )
    ids = universe_identifiers(
        universe,
        partner_id="pid",
        identifiers=[IdentifierSource("e", "email")],
        confidence=None,
        hash_type="sha256",
        encoding="base64",
    )
    rows = ids.select("partner_id", F.hex("hash_key").alias("h")).collect()
    assert [(r.partner_id, r.h.lower()) for r in rows] == [("X", digest.hex())]


def test_combine_scores_is_the_python_twin_of_noisy_or() -> None:
    from ingest.matching import combine_scores

    assert combine_scores([0.9, 0.1]) == pytest.approx(0.91)
    assert combine_scores([0.6, 0.6]) == pytest.approx(0.84)
    assert combine_scores([]) == 0.0


def test_match_stats_buckets_every_unmatched_profile_by_reason(spark: SparkSession) -> None:
    seeds = spark.createDataFrame(
        [
            ("p1", "email", None),
            ("p1", "phone", None),  # resolved on email (X)
            ("p2", "email", "email_syntax"),  # nothing valid: invalid identifier
            ("p3", "email", None),  # evidence below the threshold
            ("p4", "phone", None),  # valid, but not in the universe
            ("p5", "email", "empty"),
            ("p5", "phone", None),  # resolved on phone (W)
        ],
        "profile_id string, kind string, reason string",
    )
    evidence = spark.createDataFrame(
        [("p1", "X", "email"), ("p1", "Y", "phone"), ("p3", "Z", "email"), ("p5", "W", "phone")],
        "profile_id string, partner_id string, kind string",
    )
    matches = spark.createDataFrame(
        [("p1", "X", ["email_md5"]), ("p5", "W", ["phone_md5"])],
        "profile_id string, partner_id string, matched_on array<string>",
    )
    stats = match_stats(seeds, evidence, matches, hash_type="md5")
    assert (stats["requested"], stats["resolved"], stats["rate"]) == (5, 2, 0.4)
    assert stats["by_identifier"] == {
        "email": {"requested": 2, "resolved": 1, "rate": 0.5},
        "phone": {"requested": 3, "resolved": 1, "rate": 0.3333},
    }
    assert stats["by_hash_type"] == {"md5": {"requested": 5, "resolved": 2, "rate": 0.4}}
    assert stats["unmatched"] == {
        "invalid_identifier": 1,
        "below_threshold": 1,
        "not_in_universe": 1,
    }
