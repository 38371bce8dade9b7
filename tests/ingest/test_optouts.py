"""Opt-out rows: checked like a delivery's, turned into (kind, key) entries, resolved to
partner persons and seed profiles."""

from __future__ import annotations

import base64
import hashlib

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.identity.detection import hash_bytes
from ingest.optouts import (
    OptOutMapping,
    check_optout_rows,
    new_entries,
    opted_out_persons,
    opted_out_profiles,
    optout_entries,
    optout_twin,
)
from ingest.partner_files import CORRUPT, POSITION, REASONS, IdentifierSpec

EMAIL_HASH = hashlib.sha256(b"jane@example.com").hexdigest()
PHONE_HASH = hashlib.sha256(b"+15551234567").hexdigest()
MAPPING = OptOutMapping(
    partner_id="pid",
    identifiers=(IdentifierSpec("em", "email"), IdentifierSpec("ph", "phone")),
    hash_type="sha256",
    encoding="hex",
)
ROWS = [
    ("P1", None, None, None),  # by partner ID
    (None, "0X" + EMAIL_HASH.upper(), None, None),  # by email, spelled otherwise
    ("  ", None, " ", None),  # names nobody
    (None, None, "12345", None),  # not a SHA-256
    (None, None, None, "a,b,c"),  # unparsable
    ("P2", None, PHONE_HASH, None),  # two entries
]


def _checked(spark: SparkSession):
    frame = spark.createDataFrame(ROWS, f"pid string, em string, ph string, {CORRUPT} string")
    return check_optout_rows(frame.withColumn(POSITION, F.monotonically_increasing_id()), MAPPING)


def test_rows_are_checked_with_reasons_and_accepted_rows_become_entries(
    spark: SparkSession,
) -> None:
    checked = _checked(spark)
    reasons = [r[REASONS] for r in checked.orderBy(POSITION).collect()]
    assert reasons == [[], [], ["optout_key_missing"], ["hash_form:ph"], ["malformed_row"], []]
    entries = {(r["kind"], r["key"]) for r in optout_entries(checked, MAPPING).collect()}
    assert entries == {
        ("partner_id", "P1"),
        ("email", EMAIL_HASH),
        ("partner_id", "P2"),
        ("phone", PHONE_HASH),
    }
    twin = {
        entry
        for (pid, em, ph, _), reason in zip(ROWS, reasons, strict=True)
        if not reason
        for entry in optout_twin(
            {"pid": pid, "em": em, "ph": ph},
            partner_id="pid",
            identifiers=[("em", "email"), ("ph", "phone")],
            encoding="hex",
        )
    }
    assert twin == entries


def test_new_entries_are_those_not_already_kept(spark: SparkSession) -> None:
    kept = spark.createDataFrame(
        [("partner_id", "P1", "b0")], "kind string, key string, batch string"
    )
    delivered = spark.createDataFrame(
        [("partner_id", "P1"), ("email", EMAIL_HASH)], "kind string, key string"
    )
    assert [tuple(r) for r in new_entries(kept, delivered).collect()] == [("email", EMAIL_HASH)]


def test_persons_holding_an_opted_out_hash_and_profiles_hashing_to_one_are_reached(
    spark: SparkSession,
) -> None:
    """Base64 hashes (UID2-style) decode to the same bytes on both sides."""
    encoded = base64.b64encode(bytes.fromhex(EMAIL_HASH)).decode()
    optouts = spark.createDataFrame(
        [("partner_id", "X9"), ("email", encoded)], "kind string, key string"
    )
    universe = spark.createDataFrame(
        [("X1", "email", encoded), ("X2", "email", "AAAA"), ("X1", "phone", "BBBB")],
        "partner_id string, kind string, value string",
    ).select("partner_id", "kind", hash_bytes(F.col("value"), "sha256", "base64").alias("hash_key"))
    persons = opted_out_persons(universe, optouts, hash_type="sha256", encoding="base64")
    assert sorted(r["partner_id"] for r in persons.collect()) == ["X1", "X9"]
    seeds = universe.withColumnRenamed("partner_id", "profile_id")
    profiles = opted_out_profiles(seeds, optouts, hash_type="sha256", encoding="base64")
    assert [r["profile_id"] for r in profiles.collect()] == ["X1"]
