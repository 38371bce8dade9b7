"""Enrichment transforms on inline rows: profile shape, identities, expiry, the non-merge rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.enrichment.profiles import (
    PartnerEnrichment,
    attach_partner_records,
    build_profiles,
    convert_value,
    find_profiles,
    partner_attribute_paths,
    partner_records,
    person_domains,
)
from schemas.errors import UnknownFieldError
from schemas.models import FieldDef, PartnerSpec
from schemas.namespaces import bundled_namespaces
from schemas.registry import PROFILE_SCHEMA, bundled_registry, to_json_record, to_struct_type

INGESTED = datetime(2026, 1, 1, tzinfo=UTC)
BEFORE_EXPIRY = datetime(2026, 6, 1, tzinfo=UTC)
AFTER_EXPIRY = datetime(2027, 6, 1, tzinfo=UTC)
SEED_SCHEMA = (
    "profile_id string, email string, phone string, country string, first_name string,"
    " email_consent string, lifetime_value string, signup_date string,"
    " has_financial_advisor string"
)
CONTACT = {"email": "email", "phone": "phone", "country": "country"}
PROFILE_FIELDS = {
    "first_name": "person.name.firstName",
    "email_consent": "consents.marketing.email.val",
    "lifetime_value": "loyalty.lifetimeValue",
    "signup_date": "loyalty.joinDate",
    "has_financial_advisor": "person.hasFinancialAdvisor",
}


def acme(*, persist: bool = True, retention_days: int = 365) -> PartnerEnrichment:
    return PartnerEnrichment(
        name="acme",
        namespace="acmePersonId",
        persist_partner_id=persist,
        retention_days=retention_days,
        attributes={"demographic": ("age_range", "gender"), "financial": ("recent_mortgage",)},
    )


def schema_fields(partner: PartnerEnrichment) -> list[FieldDef]:
    spec = PartnerSpec(name=partner.name, domains=tuple(partner.attributes), labels=("3PD",))
    return bundled_registry().flatten(PROFILE_SCHEMA, [spec])


def seeds(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [
            # two customers the partner thinks are one person
            (
                "C1",
                " Ann@Example.com ",
                "+15550100",
                "us",
                "Ann",
                "opt_in",
                "10.5",
                "2020-02-03",
                "Yes",
            ),
            ("C2", "ann.other@example.com", None, "GB", "Ann", "opt_out", "oops", "not a date", ""),
            # no email: the CRM key is primary; never matched
            ("C3", None, "+15550101", "United States", "Bo", "", None, None, "No"),
        ],
        SEED_SCHEMA,
    )


def matches(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [("C1", "P9", 0.99, ["email_sha256"]), ("C2", "P9", 0.9, ["phone_sha256"])],
        "profile_id string, partner_id string, overall_quality_score double,"
        " matched_on array<string>",
    )


def universe(spark: SparkSession) -> DataFrame:
    older = datetime(2025, 12, 1, tzinfo=UTC)
    return spark.createDataFrame(
        [
            ("P9", "b2", INGESTED, "25-34", "Female", "Yes", 0.8),
            ("P9", "b1", older, "18-24", "Male", "No", 0.7),  # an older batch of the same person
            ("P7", "b2", INGESTED, "65+", None, "No", 0.5),
        ],
        "partner_id string, batch_id string, ingested_at timestamp, age_range string,"
        " gender string, recent_mortgage string, confidence double",
    )


def profiles_for(spark: SparkSession, partner: PartnerEnrichment, as_of: datetime) -> list[dict]:
    fields = schema_fields(partner)
    records = partner_records(matches(spark), universe(spark), partner=partner, as_of=as_of)
    profiles = build_profiles(
        attach_partner_records(seeds(spark), {"acme": records}, profile_id="profile_id"),
        struct_type=to_struct_type(fields),
        fields=fields,
        profile_id="profile_id",
        contact_columns=CONTACT,
        profile_fields=PROFILE_FIELDS,
        partners=[partner],
        attribute_paths={"acme": partner_attribute_paths(partner, fields, schema="p")},
        namespaces=bundled_namespaces().with_partners([("acme", "acmePersonId")]),
    )
    rows = profiles.orderBy("profileId").collect()
    return [to_json_record(row.asDict(recursive=True)) for row in rows]


def test_two_profiles_matched_to_one_partner_person_stay_two_profiles(
    spark: SparkSession,
) -> None:
    profiles = profiles_for(spark, acme(), BEFORE_EXPIRY)
    assert [p["profileId"] for p in profiles] == ["C1", "C2", "C3"]
    for profile in profiles[:2]:
        assert profile["identityMap"]["acmePersonId"] == [
            {"id": "P9", "authenticatedState": "ambiguous", "primary": False}
        ]
        # each keeps only its own 1P identities: nothing was linked through P9
        assert profile["identityMap"]["CRMID"][0]["id"] == profile["profileId"]
    assert profiles[0]["identityMap"]["Email"][0]["id"] == "ann@example.com"
    assert profiles[1]["identityMap"]["Email"][0]["id"] == "ann.other@example.com"
    assert "Phone" not in profiles[1]["identityMap"]
    assert bundled_registry().validate_records(PROFILE_SCHEMA, profiles) == 3


def test_partner_record_takes_the_newest_batch_with_provenance(spark: SparkSession) -> None:
    (first, _, unmatched) = profiles_for(spark, acme(), BEFORE_EXPIRY)
    record = first["_partner"]["acme"]
    assert record["demographic"] == {"ageRange": "25-34", "gender": "Female"}
    assert record["financial"] == {"recentMortgage": "Yes"}
    provenance = record["provenance"]
    assert (provenance["partner"], provenance["batchId"]) == ("acme", "b2")
    assert provenance["matchedOn"] == ["email_sha256"] and provenance["overallScore"] == 0.99
    assert provenance["expiresAt"].startswith("2027-01-01")
    assert "_partner" not in unmatched and "acmePersonId" not in unmatched["identityMap"]


def test_first_party_fields_are_typed_and_unparseable_values_left_off(
    spark: SparkSession,
) -> None:
    first, second, third = profiles_for(spark, acme(), BEFORE_EXPIRY)
    assert first["consents"]["marketing"]["email"]["val"] == "y"
    assert first["loyalty"] == {"lifetimeValue": 10.5, "joinDate": "2020-02-03"}
    assert first["person"] == {"name": {"firstName": "Ann"}, "hasFinancialAdvisor": True}
    assert first["homeAddress"] == {"countryCode": "US"}
    assert second["consents"]["marketing"]["email"]["val"] == "n"
    assert "loyalty" not in second  # "oops" and "not a date" do not parse
    assert "homeAddress" not in third  # "United States" is not an ISO code


def test_primary_identity_is_the_email_else_the_crm_key(spark: SparkSession) -> None:
    first, _, third = profiles_for(spark, acme(), BEFORE_EXPIRY)
    assert first["identityMap"]["Email"][0]["primary"] is True
    assert first["identityMap"]["CRMID"][0]["primary"] is False
    assert third["identityMap"]["CRMID"][0]["primary"] is True
    assert third["identityMap"]["CRMID"][0]["authenticatedState"] == "authenticated"


def test_partner_that_forbids_persisting_ids_gets_attributes_but_no_id(
    spark: SparkSession,
) -> None:
    first, second, _ = profiles_for(spark, acme(persist=False), BEFORE_EXPIRY)
    for profile in (first, second):
        assert "acmePersonId" not in profile["identityMap"]
        assert profile["_partner"]["acme"]["demographic"]["ageRange"] == "25-34"


def test_expired_attributes_and_partner_ids_are_not_written(spark: SparkSession) -> None:
    profiles = profiles_for(spark, acme(), AFTER_EXPIRY)
    assert all("_partner" not in p for p in profiles)
    assert all("acmePersonId" not in p["identityMap"] for p in profiles)
    records = partner_records(matches(spark), universe(spark), partner=acme(), as_of=AFTER_EXPIRY)
    assert records.where("expired").count() == 2


def test_mapped_attribute_without_a_schema_field_is_named(spark: SparkSession) -> None:
    partner = PartnerEnrichment(
        name="acme",
        namespace="acmePersonId",
        persist_partner_id=True,
        retention_days=1,
        attributes={"demographic": ("age_range", "shoe_size")},
    )
    with pytest.raises(UnknownFieldError, match="demographic.shoe_size"):
        partner_attribute_paths(partner, schema_fields(partner), schema="enriched_profile")


def test_convert_value_yes_no_to_boolean_and_consent(spark: SparkSession) -> None:
    fields = {f.path: f for f in schema_fields(acme())}
    frame = spark.createDataFrame([(" YES ",), ("opt_out",), ("maybe",)], "v string")
    advisor = convert_value(F.col("v"), fields["person.hasFinancialAdvisor"])
    consent = convert_value(F.col("v"), fields["consents.marketing.sms.val"])
    rows = frame.select(advisor.alias("a"), consent.alias("c")).collect()
    assert [(r.a, r.c) for r in rows] == [(True, "y"), (False, "n"), (None, None)]


def test_find_profiles_by_email_uses_the_identity_rule(spark: SparkSession) -> None:
    profiles = spark.createDataFrame(
        [("C1", {"Email": [("ann@example.com", "ambiguous", True)]}), ("C2", {})],
        "profileId string, identityMap map<string,array<struct<id:string,"
        "authenticatedState:string,primary:boolean>>>",
    )
    found = find_profiles(
        profiles, profile_id=None, email="  ANN@example.com", email_namespace="Email"
    )
    assert [r.profileId for r in found.collect()] == ["C1"]
    by_id = find_profiles(profiles, profile_id="C2", email=None, email_namespace="Email")
    assert [r.profileId for r in by_id.collect()] == ["C2"]


def test_person_domains_numbers_identifiers_and_omits_missing(spark: SparkSession) -> None:
    people = (
        universe(spark)
        .withColumn("email1", F.lit("aa" * 32))
        .withColumn("email2", F.lit(None).cast("string"))
    )
    domains = {
        "demographic": {"age_range": "age_range", "gender": "gender"},
        "email": {"email1": "email1", "email2": "email2"},
    }
    rows = person_domains(people, domains=domains, person_ids=["P7", "P9"]).collect()
    persons = {r.person_id: to_json_record(r.asDict(recursive=True)) for r in rows}
    assert persons["P7"]["domains"] == {"age_range": "65+", "email1": "aa" * 32}
    assert persons["P9"]["domains"]["age_range"] == "25-34"  # the newest batch
    assert persons["P9"]["metadata"]["batch_id"] == "b2"


def test_the_identity_map_holds_only_accepted_values_in_their_normalized_form(
    spark: SparkSession,
) -> None:
    """Case 4 of the identity issue: `not-an-email` became 80 profiles' primary identity, and
    one phone written two ways gave two identities that never link."""
    from pyspark.sql import functions as F

    from ingest.enrichment.profiles import identity_map

    seeds = spark.createDataFrame(
        [
            ("C1", "not-an-email", "07 70 09 00 41 3", "GB"),
            ("C2", " Ann@Example.com ", "+44 7700 900413", None),
            ("C3", "", "12", "US"),
            ("C4", None, None, None),
        ],
        "profile_id string, email string, phone string, country string",
    )
    column = identity_map(
        profile_id=F.col("profile_id"),
        email=F.col("email"),
        phone=F.col("phone"),
        partner_ids={},
        namespaces=bundled_namespaces(),
        primary="email",
        country=F.col("country"),
        default_country="GB",
    )
    found = {
        row["profile_id"]: {
            code: [(i["id"], i["primary"]) for i in identities]
            for code, identities in row["m"].items()
        }
        for row in seeds.select("profile_id", column.alias("m")).collect()
    }
    assert found == {
        "C1": {"CRMID": [("C1", True)], "Phone": [("+447700900413", False)]},
        "C2": {
            "CRMID": [("C2", False)],
            "Email": [("ann@example.com", True)],
            "Phone": [("+447700900413", False)],
        },
        "C3": {"CRMID": [("C3", True)]},
        "C4": {"CRMID": [("C4", True)]},
    }
