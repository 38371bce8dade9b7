"""The Spark phone rules agree with phonenumbers (libphonenumber) on a generated corpus."""

from __future__ import annotations

import random

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.identity import columns
from ingest.identity.profiles import PhoneRule

REGIONS = ("US", "CA", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "IT", "ES", "MX", "NL", "SG")
TYPES = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE)
LAYOUTS = (PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL)


def corpus(size_per_region: int = 300, seed: int = 20261124) -> list[tuple[str, str, str]]:
    """(written number, region, E.164 by phonenumbers) for possible numbers near the examples."""
    rng = random.Random(seed)
    rows = []
    for region in REGIONS:
        examples = [phonenumbers.example_number_for_type(region, kind) for kind in TYPES]
        examples = [e for e in examples if e is not None]
        while sum(1 for r in rows if r[1] == region) < size_per_region:
            example = rng.choice(examples)
            digits = str(example.national_number)
            # Vary the last four digits: keeps the number's prefix (so its type and length).
            tail = "".join(rng.choice("0123456789") for _ in range(min(4, len(digits) - 2)))
            candidate = phonenumbers.parse(
                f"+{example.country_code}{digits[: len(digits) - len(tail)]}{tail}"
            )
            if not phonenumbers.is_possible_number(candidate):
                continue
            written = phonenumbers.format_number(candidate, rng.choice(LAYOUTS))
            expected = phonenumbers.format_number(
                phonenumbers.parse(written, region), PhoneNumberFormat.E164
            )
            rows.append((written, region, expected))
    return rows


def test_spark_phone_rules_agree_with_phonenumbers(spark: SparkSession) -> None:
    rows = corpus()
    frame = spark.createDataFrame(
        [(i, *row) for i, row in enumerate(rows)],
        "i int, written string, region string, expected string",
    )
    normalized = columns.normalize_phone(
        F.col("written"),
        PhoneRule(format="e164_plus"),
        country=F.col("region"),
        default_country=None,
    )
    result = frame.select("written", "region", "expected", normalized["value"].alias("ours"))
    disagreements = result.where(~F.col("ours").eqNullSafe(F.col("expected"))).collect()
    rate = 1 - len(disagreements) / len(rows)
    listing = "\n".join(
        f"{r.region} {r.written!r}: ours={r.ours} phonenumbers={r.expected}"
        for r in disagreements[:50]
    )
    assert rate >= 0.999, f"agreement {rate:.4%} over {len(rows)} numbers:\n{listing}"
