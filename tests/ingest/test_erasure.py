"""Erasure keys: any spelling of a person's email or phone gives the same key, rows are found
by their keys, and only hashes are kept."""

from __future__ import annotations

import hashlib

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.erasure import key_columns, names_any, request_keys
from ingest.identity.profiles import get_profile

NDC = get_profile("ndc")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_requests_become_hashed_keys_whatever_their_spelling(spark: SparkSession) -> None:
    requests = spark.createDataFrame(
        [
            (" C42 ", None, None),
            (None, " Jane.Doe@Example.COM ", None),
            (None, None, "(555) 123-4567"),
            (None, "not an email", None),  # unusable: no key
        ],
        "profile_id string, email string, phone string",
    )
    keys = {r["key"] for r in request_keys(requests, profile=NDC, default_country="US").collect()}
    assert keys == {
        f"profile_id:{sha('C42')}",
        f"email:{sha('jane.doe@example.com')}",
        f"phone:{sha('5551234567')}",  # ndc: the national number of a US phone
    }
    assert not any("jane" in k.lower() or "C42" in k for k in keys)


def test_rows_named_by_any_of_their_keys_are_found(spark: SparkSession) -> None:
    rows = spark.createDataFrame(
        [("C1", "jane.doe@example.com", None), ("C2", "other@example.com", "5551234567"),
         ("C3", None, None)],
        "id string, email string, phone string",
    )  # fmt: skip
    keys = key_columns(
        profile_id=F.col("id"),
        email=F.col("email"),
        phone=F.col("phone"),
        country=None,
        profile=NDC,
        default_country="US",
    )
    wanted = {f"email:{sha('jane.doe@example.com')}", f"phone:{sha('5551234567')}"}
    named = rows.where(names_any(keys, wanted)).orderBy("id").select("id").collect()
    assert [r["id"] for r in named] == ["C1", "C2"]
    assert rows.where(names_any(keys, set())).count() == 0
