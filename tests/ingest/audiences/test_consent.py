"""TCF v2 purpose consents: the Spark rule, its Python twin and the iab-tcf decoder agree."""

from __future__ import annotations

import base64
import random

import pytest
from iab_tcf import decode_v2
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.audiences.consent import PURPOSE_COUNT, tcf_purposes, tcf_purposes_granted


def tc_string(purposes: set[int], *, version: int = 2, rest: str = "") -> str:
    """A core segment: the version, zeros up to the purpose consents, then zeros for the
    legitimate interests, purpose one treatment, publisher country and an empty vendor
    section; Base64url without padding, as CMPs write it."""
    bits = f"{version:06b}" + "0" * 146
    bits += "".join("1" if n + 1 in purposes else "0" for n in range(PURPOSE_COUNT))
    bits += "0" * 24 + "0" + "0" * 12 + "0" * 16 + "0" + "0" * 16 + "0" + "0" * 12
    bits += "0" * (-len(bits) % 8)
    data = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return base64.urlsafe_b64encode(data).decode().rstrip("=") + rest


CASES = [
    tc_string({1, 3, 4}),
    tc_string({1, 2, 3, 4, 7, 9, 10}),
    tc_string(set()),
    tc_string({1, 3, 4}, rest=".YAAAAAAAAAAA"),  # a further segment is not read
    *(tc_string(set(random.Random(n).sample(range(1, 12), n))) for n in range(1, 11)),
]
NOT_GRANTING = [
    tc_string({1, 3, 4}, version=1),
    "not a consent string",
    "",
    tc_string({1, 3, 4})[:12],  # cut before the purposes
]


def test_the_python_twin_reads_the_purposes_the_iab_tcf_decoder_reads() -> None:
    for case in CASES:
        oracle = decode_v2(case).purposes_consent
        assert tcf_purposes(case) == {n for n, granted in oracle.items() if granted}, case


@pytest.mark.parametrize("required", [[1], [1, 3, 4], [2, 7, 10], [11]])
def test_spark_grants_exactly_where_the_twin_does(spark: SparkSession, required: list[int]) -> None:
    rows = [(case,) for case in [*CASES, *NOT_GRANTING]] + [(None,)]
    frame = spark.createDataFrame(rows, "tc string")
    judged = frame.select("tc", tcf_purposes_granted(F.col("tc"), required).alias("ok")).collect()
    for row in judged:
        assert row["ok"] == (set(required) <= tcf_purposes(row["tc"])), row["tc"]
    assert any(row["ok"] for row in judged) or required == [11]
