"""Several providers: canonical choice by priority/score/recency, and independent agreement."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import DataFrame, SparkSession

from ingest.enrichment.providers import agreement, canonical_values, pair_agreement

EVIDENCE = (
    "profile_id string, provider string, domain string, attribute string, value string,"
    " partner_id string, score double, ingested_at timestamp, independent boolean"
)
OLD, NEW = datetime(2026, 1, 1), datetime(2026, 6, 1)


def evidence(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, EVIDENCE)


def test_canonical_prefers_priority_then_score_then_recency(spark: SparkSession) -> None:
    rows = [
        # C1 income: acme (priority 1) beats beta (2) whatever the score
        ("C1", "acme", "demographic", "income", "$100K", "A1", 0.6, OLD, True),
        ("C1", "beta", "demographic", "income", "$150K", "B1", 0.99, NEW, True),
        # C2 income: equal priority -> higher score wins
        ("C2", "acme", "demographic", "income", "$50K", "A2", 0.7, NEW, True),
        ("C2", "gamma", "demographic", "income", "$75K", "G2", 0.9, OLD, True),
        # C3 income: equal priority and score -> the more recent wins
        ("C3", "acme", "demographic", "income", "$50K", "A3", 0.8, OLD, True),
        ("C3", "gamma", "demographic", "income", "$75K", "G3", 0.8, NEW, True),
        # C1 net worth: the financial domain prefers beta
        ("C1", "acme", "financial", "net_worth", "$1M+", "A1", 0.9, NEW, True),
        ("C1", "beta", "financial", "net_worth", "$500K", "B1", 0.5, OLD, True),
    ]
    chosen = canonical_values(
        evidence(spark, rows),
        priorities={"acme": 1, "beta": 2, "gamma": 1},
        domain_order={"financial": ["beta", "acme"]},
    ).collect()
    picked = {(r.profile_id, r.attribute): (r.provider, r.value, r.providers) for r in chosen}
    assert picked == {
        ("C1", "income"): ("acme", "$100K", 2),
        ("C2", "income"): ("gamma", "$75K", 2),
        ("C3", "income"): ("gamma", "$75K", 2),
        ("C1", "net_worth"): ("beta", "$500K", 2),
    }


def test_agreement_counts_only_independent_claims(spark: SparkSession) -> None:
    rows = [
        ("C1", "acme", "d", "income", "$100K", "A1", 0.9, NEW, True),
        ("C1", "beta", "d", "income", "$100K", "B1", 0.9, NEW, True),  # agree
        ("C2", "acme", "d", "income", "$100K", "A2", 0.9, NEW, True),
        ("C2", "beta", "d", "income", "$150K", "B2", 0.9, NEW, True),  # disagree
        ("C3", "acme", "d", "income", "$100K", "A3", 0.9, NEW, True),  # one provider
        # C4: beta resells acme's value: the echo is not a second line
        ("C4", "acme", "d", "children", "2", "A4", 0.9, NEW, True),
        ("C4", "beta", "d", "children", "2", "B4", 0.9, NEW, False),
    ]
    cells = {
        (r.profile_id, r.attribute): (r.status, r.lines)
        for r in agreement(evidence(spark, rows)).collect()
    }
    assert cells == {
        ("C1", "income"): ("agree", 2),
        ("C2", "income"): ("disagree", 2),
        ("C3", "income"): ("not_comparable", 1),
        ("C4", "children"): ("not_comparable", 1),
    }
    (pair,) = pair_agreement(evidence(spark, rows)).where("attribute = 'income'").collect()
    assert (pair.provider_a, pair.provider_b, pair.compared, pair.agree) == ("acme", "beta", 2, 1)
    assert pair.agreement_rate == 0.5


def test_evidence_from_profiles_marks_declared_claims_not_independent(
    spark: SparkSession,
) -> None:
    import json

    from ingest.enrichment.providers import attribute_evidence, partner_id_column
    from schemas.models import PartnerSpec
    from schemas.registry import PROFILE_SCHEMA, bundled_registry, to_struct_type

    specs = [PartnerSpec(name=p, domains=("household",)) for p in ("acme", "beta")]
    fields = bundled_registry().flatten(PROFILE_SCHEMA, specs)
    provenance = {"partner": "x", "expiresAt": "2100-01-01T00:00:00", "overallScore": 0.9}
    record = {"provenance": provenance, "household": {"numberChildrenInHousehold": "2"}}
    profile = {
        "profileId": "C1",
        "identityMap": {"acmeId": [{"id": "A1"}]},
        "_partner": {"acme": record, "beta": record},
    }
    frame = spark.read.schema(to_struct_type(fields)).json(
        spark.sparkContext.parallelize([json.dumps(profile)])
    )
    path = "_partner.{}.household.numberChildrenInHousehold"
    rows = attribute_evidence(
        frame,
        providers={
            p: {"number_children_in_household": (path.format(p), "household")}
            for p in ("acme", "beta")
        },
        partner_ids={
            "acme": partner_id_column("acmeId", kept=True),
            "beta": partner_id_column("betaId", kept=False),
        },
        not_independent={"beta": ["number_children_in_household"]},
    ).collect()
    found = {(r.provider, r.value, r.partner_id, r.independent, r.score) for r in rows}
    assert found == {("acme", "2", "A1", True, 0.9), ("beta", "2", None, False, 0.9)}
