"""Seed preparation: hashes per profile, rejected values kept with reasons, counts add up."""

from __future__ import annotations

import hashlib

from pyspark.sql import SparkSession

from ingest.identity.profiles import get_profile
from ingest.seeds import (
    SEED_IDENTIFIER_COLUMNS,
    SeedColumnNames,
    count_outcomes,
    judge_seed_rows,
    prepare_seed_identifiers,
    rejected_seed_rows,
    seed_quarantine,
    valid_seed_rows,
)

NAMES = SeedColumnNames(
    profile_id="id",
    email="email",
    phone="phone",
    street="street",
    city="city",
    state="state",
    postal_code="zip",
    country="country",
)
SCHEMA = (
    "id string, email string, phone string, street string, city string, state string,"
    " zip string, country string"
)


def test_prepare_seed_identifiers_hashes_and_rejects_with_reasons(spark: SparkSession) -> None:
    seeds = spark.createDataFrame(
        [
            (
                "c1",
                " Jane.Doe+x@Gmail.com",
                "+1 (201) 555-0100",
                "1 Main Street",
                "Austin",
                "TX",
                "78701",
                "US",
            ),
            ("c2", "jane at example.com", "12345", None, None, None, None, None),
            ("c3", None, "020 7946 0958", "", "", "", "", "gb"),
        ],
        SCHEMA,
    )
    prepared = prepare_seed_identifiers(
        seeds,
        names=NAMES,
        partner="acme",
        profile=get_profile("ndc"),
        hash_type="sha256",
        encoding="hex",
        default_country="US",
        workflow_id="wf",
    )
    rows = {(r.profile_id, r.kind): r for r in prepared.collect()}
    assert tuple(prepared.columns) == SEED_IDENTIFIER_COLUMNS
    assert rows[("c1", "email")].hash == hashlib.sha256(b"janedoe@gmail.com").hexdigest()
    assert rows[("c1", "phone")].hash == hashlib.sha256(b"2015550100").hexdigest()
    assert rows[("c1", "address")].hash == hashlib.sha256(b"1 MAIN ST AUSTIN TX 78701").hexdigest()
    assert rows[("c3", "phone")].hash == hashlib.sha256(b"2079460958").hexdigest()
    assert rows[("c1", "email")].profile_version == "ndc@v1"
    assert (rows[("c2", "email")].hash, rows[("c2", "email")].reason) == (None, "email_syntax")
    assert rows[("c2", "phone")].reason == "phone_too_short"
    assert rows[("c3", "email")].reason == "empty"

    quarantine = seed_quarantine(prepared, seeds, names=NAMES, profile=get_profile("ndc"))
    quarantined = {(r.profile_id, r.kind): r for r in quarantine.collect()}
    assert set(quarantined) == {("c2", "email"), ("c2", "phone")}
    assert quarantined[("c2", "email")].original == "jane at example.com"
    assert quarantined[("c2", "phone")].original == "12345"
    assert quarantine.columns == [
        "profile_id",
        "partner",
        "kind",
        "original",
        "reason",
        "workflow_id",
    ]

    counts = count_outcomes(prepared)
    for kind in ("email", "phone", "address"):
        total = sum(counts.get(f"{kind}.{o}", 0) for o in ("accepted", "empty", "rejected"))
        assert total == 3, kind
    assert counts["reason.email_syntax"] == 1


def test_amazon_profile_hashes_the_street_line_alone_in_the_seeds_country(
    spark: SparkSession,
) -> None:
    seeds = spark.createDataFrame(
        [
            ("c1", None, None, "8 Bluestem Terrace", "Dallas", "TX", "75236", "US"),
            ("c2", None, None, "12 Boulevard Haussmann", "Paris", None, "75009", " fr "),
            ("c3", None, None, "Rua Augusta 12", "Lisboa", None, "1100", "PT"),
            ("c4", None, None, "10 Downing Street", "London", None, "SW1A 2AA", None),
            ("c5", None, None, "...", "Dallas", "TX", "75236", "US"),
        ],
        SCHEMA,
    )
    prepared = prepare_seed_identifiers(
        seeds,
        names=NAMES,
        partner="amzn",
        profile=get_profile("amazon"),
        hash_type="sha256",
        encoding="hex",
        default_country="GB",
        workflow_id="wf",
    )
    rows = {r.profile_id: r for r in prepared.collect() if r.kind == "address"}
    # Amazon's own test data: "8 Bluestem Terrace" in the US hashes to this.
    assert rows["c1"].hash == "fe8115cbef0c2b9c5bedbedaa34b080223959365176679d9b0461465b1b08425"
    assert rows["c2"].hash == hashlib.sha256(b"12boulevardhaussmann").hexdigest()
    assert (rows["c3"].hash, rows["c3"].reason) == (None, "address_country_unsupported")
    assert rows["c4"].hash == hashlib.sha256(b"10downingst").hexdigest()  # default GB
    assert (rows["c5"].hash, rows["c5"].reason) == (None, "empty")
    quarantine = seed_quarantine(prepared, seeds, names=NAMES, profile=get_profile("amazon"))
    quarantined = {r.profile_id: r for r in quarantine.collect()}
    assert quarantined["c3"].original == "Rua Augusta 12"


def test_judge_seed_rows_quarantines_missing_and_repeated_profile_ids(
    spark: SparkSession,
) -> None:
    seeds = spark.createDataFrame(
        [
            ("c1", "a@example.com"),
            ("c1", "b@example.com"),
            (" ", "c@example.com"),
            ("c2", "d@example.com"),
        ],
        "id string, email string",
    ).coalesce(1)
    judged = judge_seed_rows(seeds, profile_id="id", workflow_id="wf")
    valid, rejected = valid_seed_rows(judged), rejected_seed_rows(judged)
    assert sorted((r.id, r.email) for r in valid.collect()) == [
        ("c1", "a@example.com"),
        ("c2", "d@example.com"),
    ]
    assert sorted((r.email, r.reason) for r in rejected.collect()) == [
        ("b@example.com", "duplicate_profile_id"),
        ("c@example.com", "profile_id_missing"),
    ]
    assert valid.count() + rejected.count() == seeds.count()
