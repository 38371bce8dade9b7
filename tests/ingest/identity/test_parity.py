"""Spark rules and their pure-Python twins agree on one case table, and both on the expected."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.identity import columns, reference
from ingest.identity.profiles import get_profile, load_profiles
from tests.ingest.identity.cases import (
    ADDRESS_CASES,
    AMAZON_PUBLISHED,
    CASES,
    PUBLISHED_HASHES,
)

DEFAULT_COUNTRY = "US"


def spark_results(spark: SparkSession, *, staged: bool) -> list[tuple[str | None, str | None]]:
    """All identifier cases through Spark in one DataFrame and one collect().

    `staged` builds the rules the way the jobs do (intermediates as hidden columns); otherwise
    intermediates are bound with higher-order functions. Both must give the same answers.
    """
    rows = [
        (i, c.kind, get_profile(c.profile).label, c.value, c.country) for i, c in enumerate(CASES)
    ]
    frame = spark.createDataFrame(
        rows, "case_id int, kind string, profile string, value string, country string"
    )
    if staged:
        with columns.staging(frame) as stage:
            expression = all_rules()
        frame = stage.frame
    else:
        expression = all_rules()
    collected = frame.select("case_id", expression.alias("out")).orderBy("case_id").collect()
    return [(row.out.value, row.out.reason) for row in collected]


def all_rules():
    expression = F.lit(None).cast(columns.NORMALIZED_TYPE)
    for kind in sorted({case.kind for case in CASES}):
        for name, profile in load_profiles().items():
            rule = columns.normalize_identifier(
                kind,
                profile,
                F.col("value"),
                country=F.col("country"),
                default_country=DEFAULT_COUNTRY,
            )
            matches = (F.col("kind") == kind) & (F.col("profile") == name)
            expression = F.when(matches, rule).otherwise(expression)
    return expression


@pytest.mark.parametrize("staged", [True, False], ids=["staged", "lambda"])
def test_spark_and_python_agree_with_expected_on_identifier_cases(
    spark: SparkSession, staged: bool
) -> None:
    from_spark = spark_results(spark, staged=staged)
    problems = []
    for case, spark_out in zip(CASES, from_spark, strict=True):
        python_out = tuple(
            reference.normalize_identifier(
                case.kind,
                get_profile(case.profile),
                case.value,
                country=case.country,
                default_country=DEFAULT_COUNTRY,
            )
        )
        expected = (case.expected, case.reason)
        if not (spark_out == python_out == expected):
            problems.append(f"{case}: spark={spark_out} python={python_out}")
    assert problems == []


@pytest.mark.parametrize("staged", [True, False], ids=["staged", "lambda"])
def test_spark_and_python_agree_on_address_cases(spark: SparkSession, staged: bool) -> None:
    frame = spark.createDataFrame(
        [(i, *case[:4]) for i, case in enumerate(ADDRESS_CASES)],
        "case_id int, street string, city string, state string, postal_code string",
    )
    with columns.staging(frame) if staged else nullcontext() as stage:
        out = columns.normalize_address(
            F.col("street"), F.col("city"), F.col("state"), F.col("postal_code")
        )
    frame = stage.frame if staged else frame
    rows = frame.select("case_id", out.alias("out")).orderBy("case_id").collect()
    problems = []
    for case, row in zip(ADDRESS_CASES, rows, strict=True):
        python_out = tuple(reference.normalize_address(*case[:4]))
        spark_out = (row.out.value, row.out.reason)
        if not (spark_out == python_out == (case[4], case[5])):
            problems.append(f"{case}: spark={spark_out} python={python_out}")
    assert problems == []


def test_published_hashes_match_in_both_engines(spark: SparkSession) -> None:
    """Each platform's published examples, normalized and hashed by its own profile."""
    frame = spark.createDataFrame(
        [(i, profile, value) for i, (profile, value, *_rest) in enumerate(PUBLISHED_HASHES)],
        "case_id int, profile string, value string",
    )
    expression = F.struct(F.lit(None).cast("string").alias("n"), F.lit(None).alias("h"))
    for name in sorted({profile for profile, *_rest in PUBLISHED_HASHES}):
        profile = get_profile(name)
        normalized = F.when(
            F.col("value").startswith("+"),
            columns.normalize_identifier("phone", profile, F.col("value"), default_country="US"),
        ).otherwise(columns.normalize_identifier("email", profile, F.col("value")))["value"]
        hashed = columns.hash_value(normalized, profile.hash, profile.encoding)
        expression = F.when(
            F.col("profile") == name, F.struct(normalized.alias("n"), hashed.alias("h"))
        ).otherwise(expression)
    rows = frame.select("case_id", expression.alias("out")).orderBy("case_id").collect()
    for row in rows:
        name, value, expected_normalized, expected_hash, _source = PUBLISHED_HASHES[row.case_id]
        profile = get_profile(name)
        kind = "phone" if value.startswith("+") else "email"
        python = reference.normalize_identifier(kind, profile, value, default_country="US")
        assert python.value is not None, value
        assert row.out.n == python.value == expected_normalized, value
        python_hash = reference.hash_value(python.value, profile.hash, profile.encoding)
        assert row.out.h == python_hash == expected_hash, value


def test_amazon_published_hashes_match_in_both_engines(spark: SparkSession) -> None:
    """Amazon's own test data: each street line (in its country) and email, hashed."""
    profile = get_profile("amazon")
    frame = spark.createDataFrame(
        [(i, *case[:3]) for i, case in enumerate(AMAZON_PUBLISHED)],
        "case_id int, kind string, country string, value string",
    )
    normalized = F.lit(None).cast(columns.NORMALIZED_TYPE)
    for kind in ("address", "email"):
        rule = columns.normalize_identifier(
            kind, profile, F.col("value"), country=F.col("country"), default_country="US"
        )
        normalized = F.when(F.col("kind") == kind, rule).otherwise(normalized)
    hashed = columns.hash_value(normalized["value"], profile.hash, profile.encoding)
    rows = frame.select("case_id", hashed.alias("h")).orderBy("case_id").collect()
    for row, (kind, country, value, expected) in zip(rows, AMAZON_PUBLISHED, strict=True):
        python = reference.normalize_identifier(kind, profile, value, country=country)
        assert python.value is not None, value
        assert row.h == reference.hash_value(python.value, "sha256", "hex") == expected, value


@pytest.mark.parametrize("hash_type", ["md5", "sha1", "sha256"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_hash_value_agrees_between_engines(
    spark: SparkSession, hash_type: str, encoding: str
) -> None:
    values = ["hello", "test", "janedoe@gmail.com", "ümlaut@example.com"]
    frame = spark.createDataFrame([(v,) for v in values], "v string")
    hashed = frame.select(columns.hash_value(F.col("v"), hash_type, encoding).alias("h"))
    assert [r.h for r in hashed.collect()] == [
        reference.hash_value(v, hash_type, encoding) for v in values
    ]


def test_hash_value_matches_seed_000_md5_examples() -> None:
    # seed 000, "Hashed Identifier Example": md5 of "hello" and "test".
    assert reference.hash_value("hello", "md5", "hex") == "5d41402abc4b2a76b9719d911017c592"
    assert reference.hash_value("test", "md5", "hex") == "098f6bcd4621d373cade4e832627b4f6"
