"""Clusters, ICP statistics and lookalike expressions on hand-computable inline data."""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.audiences.icp import (
    attribute_clusters,
    attribute_frequencies,
    attribute_items,
    attribute_pairs,
    cluster_hash,
    frequent_itemsets,
)
from ingest.audiences.lookalike import (
    ExpressionError,
    expression_column,
    find_persons,
    parse_expression,
    resolve_terms,
    within_radius,
)

DOMAINS = {"gender": "demographic", "fit": "interest", "golf": "interest"}
COLUMNS = {name: name for name in DOMAINS}


def universe(spark: SparkSession) -> DataFrame:
    # 8 persons; customers are the first four profiles' matches
    rows = [
        ("P1", "F", "Yes", "Yes", 40.7, -74.0),
        ("P2", "F", "Yes", "No", 40.8, -74.0),
        ("P3", "F", "Yes", "Yes", 34.0, -118.2),
        ("P4", "M", "No", "Yes", 40.7, -74.1),
        ("P5", "M", "No", "No", None, None),
        ("P6", "M", "Yes", None, 51.5, -0.1),
        ("P7", "F", "No", "No", 40.7, -74.0),
        ("P8", "M", "No", "No", 40.7, -74.0),
    ]
    return spark.createDataFrame(
        rows,
        "partner_id string, gender string, fit string, golf string, latitude double,"
        " longitude double",
    )


def test_cluster_hash_is_stable_and_matches_spark(spark: SparkSession) -> None:
    assert cluster_hash("acme", "gender", "F") == cluster_hash("acme", "gender", "F")
    assert cluster_hash("acme", "gender", "F") != cluster_hash("beta", "gender", "F")
    assert len(cluster_hash("acme", "gender", "F")) == 32
    clusters = attribute_clusters(
        universe(spark), partner="acme", attributes=COLUMNS, domains=DOMAINS
    )
    rows = {(r.name, r.value): r for r in clusters.collect()}
    assert rows[("gender", "F")].cluster_hash == cluster_hash("acme", "gender", "F")
    assert rows[("gender", "F")].size == 4 and rows[("golf", "Yes")].size == 3
    assert rows[("fit", "Yes")].domain == "interest"
    assert ("golf", "") not in rows and len(rows) == 6  # P6's missing golf is no cluster
    again = attribute_clusters(
        universe(spark), partner="acme", attributes=COLUMNS, domains=DOMAINS
    ).collect()
    assert {r.cluster_id for r in again} == {r.cluster_id for r in rows.values()}


def members(spark: SparkSession) -> DataFrame:
    frame = universe(spark).where(F.col("partner_id").isin("P1", "P2", "P3", "P4"))
    return attribute_items(
        frame, key=F.col("partner_id"), attributes={n: F.col(n) for n in DOMAINS}, domains=DOMAINS
    )


def test_frequencies_and_lift_match_the_hand_computation(spark: SparkSession) -> None:
    clusters = attribute_clusters(
        universe(spark), partner="acme", attributes=COLUMNS, domains=DOMAINS
    )
    rows = {
        (r.name, r.value): r
        for r in attribute_frequencies(
            members(spark), clusters, members=4, universe_size=8
        ).collect()
    }
    # fit=Yes: 3 of 4 members (0.75); 4 of 8 in the universe (0.5): lift 1.5
    fit = rows[("fit", "Yes")]
    assert (fit["count"], fit.rate, fit.universe_rate, fit.lift) == (3, 0.75, 0.5, 1.5)
    # gender=M: 1 of 4 (0.25) vs 4 of 8 (0.5): lift 0.5
    assert rows[("gender", "M")].lift == 0.5


def test_pairs_lift_is_observed_over_expected(spark: SparkSession) -> None:
    pairs = attribute_pairs(
        members(spark), [("fit", "Yes"), ("golf", "Yes"), ("gender", "F")], members=4
    ).collect()
    by_pair = {(p.a, p.b): p for p in pairs}
    # fit=Yes (P1,P2,P3) and golf=Yes (P1,P3,P4): together P1,P3 -> 2/4 over (3/4 * 3/4)
    pair = by_pair[("fit=Yes", "golf=Yes")]
    assert (pair["count"], pair.support, pair.lift) == (2, 0.5, round(0.5 / (0.75 * 0.75), 4))
    assert pair.confidence == round(2 / 3, 4)


def test_fp_growth_finds_the_three_attribute_cluster(spark: SparkSession) -> None:
    itemsets, rules = frequent_itemsets(
        members(spark), [("fit", "Yes"), ("golf", "Yes"), ("gender", "F")], min_support=0.5
    )
    found = {tuple(r["items"]): r["count"] for r in itemsets.collect()}
    assert found[("fit=Yes", "gender=F", "golf=Yes")] == 2  # P1 and P3
    assert found[("fit=Yes", "gender=F")] == 3
    rule = {(tuple(r.antecedent), tuple(r.consequent)): r for r in rules.collect()}
    assert rule[(("gender=F",), ("fit=Yes",))].confidence == 1.0


def hashes() -> dict[str, tuple[str, str]]:
    pairs = [
        ("gender", "F"),
        ("gender", "M"),
        ("fit", "Yes"),
        ("fit", "No"),
        ("golf", "Yes"),
        ("golf", "No"),
    ]
    return {cluster_hash("acme", n, v): (n, v) for n, v in pairs}


def evaluate(spark: SparkSession, text: str) -> list[str]:
    node = parse_expression(text)
    known = hashes()
    resolved = resolve_terms(node, text, known, set(known.values()))
    condition = expression_column(node, resolved, COLUMNS)
    return sorted(r.partner_id for r in find_persons(universe(spark), condition).collect())


def test_expression_over_hashes_and_name_value(spark: SparkSession) -> None:
    female, fit, golf = (
        cluster_hash("acme", *p) for p in (("gender", "F"), ("fit", "Yes"), ("golf", "Yes"))
    )
    assert evaluate(spark, f"{female} AND ({fit} OR {golf})") == ["P1", "P2", "P3"]
    assert evaluate(spark, f"{fit} AND NOT {golf}") == ["P2", "P6"]  # missing golf: not Yes
    assert evaluate(spark, "gender='M' and fit=No and not golf=Yes") == ["P5", "P8"]


@pytest.mark.parametrize(
    ("text", "position", "problem"),
    [
        ("gender=F AND", 13, "the expression ended"),  # just past the end
        ("(gender=F OR fit=Yes", 1, "never closed"),
        ("gender=F OR OR fit=Yes", 13, "expected a 32-hex cluster hash"),
        ("gender=F fit=Yes", 10, "expected AND, OR"),
        ("0123456789abcdef0123456789abcdef", 1, "no cluster has this hash"),
        ("gender=X", 1, "no cluster gender=X"),
    ],
)
def test_expression_errors_point_at_the_position(text: str, position: int, problem: str) -> None:
    known = hashes()
    with pytest.raises(ExpressionError) as raised:
        resolve_terms(parse_expression(text), text, known, set(known.values()))
    assert raised.value.position + 1 == position
    assert problem in str(raised.value)


def test_radius_filter_and_customer_exclusion(spark: SparkSession) -> None:
    people = universe(spark)
    near_nyc = within_radius(40.7128, -74.0060, 20, "mi")
    customers = spark.createDataFrame([("P1",)], "partner_id string")
    found = find_persons(people, near_nyc, exclude=customers).collect()
    assert sorted(r.partner_id for r in found) == ["P2", "P4", "P7", "P8"]
    assert within_radius(40.7128, -74.0060, 5000, "km") is not None
