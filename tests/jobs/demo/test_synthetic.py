"""The demo data generator: counts, determinism, a consistent ground truth, real messiness."""

from __future__ import annotations

import hashlib
import re

import pytest
from pyspark.sql import Row, SparkSession

from jobs.demo.synthetic import (
    GeneratorSettings,
    build_seeds,
    build_universe,
    split_seeds,
    summarize_ground_truth,
)
from schemas.attributes import load_attribute_catalog

SETTINGS = GeneratorSettings(seeds=600, universe=1500, seed=11)
SUFFIXES = {
    "STREET": "ST",
    "AVENUE": "AVE",
    "ROAD": "RD",
    "BOULEVARD": "BLVD",
    "LANE": "LN",
    "DRIVE": "DR",
    "COURT": "CT",
    "PLACE": "PL",
    "TERRACE": "TER",
    "PARKWAY": "PKWY",
}
CALLING_CODES = {
    "US": "1",
    "CA": "1",
    "GB": "44",
    "DE": "49",
    "FR": "33",
    "IN": "91",
    "BR": "55",
    "JP": "81",
    "AU": "61",
}


# Test oracles: just enough of the ndc rules to check every positive in the ground truth is
# recoverable from the messy seed value, and no negative is.
def canonical_email(raw: str | None) -> str | None:
    if not raw or raw.strip().count("@") != 1:
        return None
    local, domain = raw.strip().lower().split("@")
    if not local or "." not in domain:
        return None
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.split("+")[0].replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def canonical_phone(raw: str | None, country: str | None) -> str | None:
    if not raw:
        return None
    digits = re.sub(r"\D", "", raw)
    code = CALLING_CODES[(country or "US").upper()]
    if raw.strip().startswith("+"):
        digits = digits.removeprefix(code)
    elif code == "1" and len(digits) == 11:
        digits = digits.removeprefix("1")
    else:
        digits = digits.removeprefix("0")
    return digits if len(digits) >= 8 else None


def canonical_address(row: Row) -> str | None:
    if not row.street:
        return None
    words = re.sub(r"[^\w\s#]", "", row.street.upper()).replace("#", "APT ").split()
    words = [SUFFIXES.get(w, w) for w in words]
    words = ["APT" if w == "APARTMENT" else w for w in words]
    return " ".join([*words, row.city.upper(), row.state.upper(), row.postal_code[:5]])


def sha256(value: str | None) -> str | None:
    return hashlib.sha256(value.encode()).hexdigest() if value else None


@pytest.fixture(scope="module")
def generated(spark_session: SparkSession) -> tuple[list[Row], list[Row], list[Row]]:
    universe = build_universe(spark_session, SETTINGS, load_attribute_catalog(), partitions=2)
    seeds, truth = split_seeds(build_seeds(spark_session, SETTINGS, partitions=2))
    return universe.collect(), seeds.collect(), truth.collect()


def test_generator_writes_one_row_per_person_and_profile(generated) -> None:
    universe, seeds, truth = generated
    assert len(universe) == SETTINGS.universe
    assert len(seeds) == len(truth) == SETTINGS.seeds
    assert len({row.person_id for row in universe}) == SETTINGS.universe
    assert len({row.profile_id for row in seeds}) == SETTINGS.seeds


def test_universe_hashes_are_unique_per_identifier(generated) -> None:
    universe, _, _ = generated
    for column in ("email1", "phone1", "address1"):
        values = [getattr(row, column) for row in universe if getattr(row, column)]
        assert len(values) == len(set(values)), column
        assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in values)


def test_universe_attributes_stay_in_catalog_value_sets(generated) -> None:
    universe, _, _ = generated
    for _domain, attribute in load_attribute_catalog().attributes():
        seen = {getattr(row, attribute.name) for row in universe} - {None}
        assert seen and seen <= set(attribute.values), attribute.name


def test_ground_truth_positives_are_recoverable_and_negatives_are_not(generated) -> None:
    universe, seeds, truth = generated
    people = {row.person_id: row for row in universe}
    all_emails = {getattr(r, c) for r in universe for c in ("email1", "email2", "email3")} - {None}
    all_phones = {getattr(r, c) for r in universe for c in ("phone1", "phone2")} - {None}
    for seed, answer in zip(seeds, truth, strict=True):
        assert seed.profile_id == answer.profile_id
        email_hash = sha256(canonical_email(seed.email))
        phone_hash = sha256(canonical_phone(seed.phone, seed.country))
        if answer.person_id is None:
            assert email_hash not in all_emails and phone_hash not in all_phones
            continue
        person = people[answer.person_id]
        assert answer.email_in_universe == (
            email_hash is not None and email_hash in (person.email1, person.email2)
        ), answer
        assert answer.phone_in_universe == (
            phone_hash is not None and phone_hash == person.phone1
        ), answer
        address_hash = sha256(canonical_address(seed))
        assert answer.address_in_universe == (
            address_hash is not None and address_hash == person.address1
        ), answer


def test_seed_set_really_is_messy(generated) -> None:
    _, seeds, _ = generated
    emails = [row.email for row in seeds if row.email]
    phones = [row.phone for row in seeds if row.phone]
    assert any(e != e.strip(" ") for e in emails), "leading/trailing spaces"
    assert any("\t" in e for e in emails), "tabs"
    assert any(e.strip() != e.strip().lower() for e in emails), "mixed case"
    assert any("+" in e and "@gmail.com" in e.lower() for e in emails), "gmail +tags"
    assert any(re.search(r"\.[a-z]+\.\d+@gmail\.com", e.lower()) for e in emails), "gmail dots"
    assert any("@" not in e for e in emails), "invalid emails"
    assert any(row.email is None for row in seeds), "empty cells"
    assert any(re.fullmatch(r"\+1 \(\d{3}\) \d{3}-\d{4}", p) for p in phones)
    assert any(re.fullmatch(r"\d{3}\.\d{3}\.\d{4}", p) for p in phones)
    assert any(re.fullmatch(r"1\d{10}", p) for p in phones)
    assert any(p.startswith("+") and not p.startswith("+1") for p in phones), "international"
    assert any(
        row.street and re.search(r"Street|Avenue|Road|Drive|Lane", row.street) for row in seeds
    )
    assert any(row.postal_code and "-" in row.postal_code for row in seeds), "ZIP+4"


def test_summarize_ground_truth_counts_variants(spark: SparkSession, generated) -> None:
    _, _, truth = generated
    counts = summarize_ground_truth(spark.createDataFrame(truth))
    assert counts["in_universe"] == sum(1 for row in truth if row.person_id)
    assert counts["email_in_universe"] == sum(1 for row in truth if row.email_in_universe)
    for variant in (
        "email:gmail_dots",
        "email:plus_tag",
        "email:mixed_case",
        "email:tab",
        "phone:international",
        "phone:invalid",
        "address:zip4",
    ):
        assert counts[f"variant.{variant}"] > 0, variant


def test_generator_is_deterministic_for_a_seed(spark: SparkSession, generated) -> None:
    _, seeds, _ = generated

    def rows(seed: int) -> list[Row]:
        settings = SETTINGS.model_copy(update={"seed": seed})
        return sorted(split_seeds(build_seeds(spark, settings, partitions=2))[0].collect())

    assert rows(SETTINGS.seed) == sorted(seeds)
    assert rows(SETTINGS.seed + 1) != sorted(seeds)


def test_generator_handles_more_seeds_than_universe(spark: SparkSession) -> None:
    settings = GeneratorSettings(seeds=40, universe=10, seed=3)
    _, truth = split_seeds(build_seeds(spark, settings, partitions=2))
    matched = [row.person_id for row in truth.collect() if row.person_id]
    assert len(matched) == len(set(matched)) <= 10


def test_generated_addresses_are_unique_per_person(generated) -> None:
    universe, _, _ = generated
    addresses = [row.address1 for row in universe if row.address1]
    assert len(addresses) == len(set(addresses))
