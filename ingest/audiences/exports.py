"""Activation exports: segment members -> the rows a destination receives, in its layout.

Generic layouts (csv, jsonl, parquet) carry one column per exported identity namespace and
per exported profile field (named by its XDM path). The ad-platform layouts carry only hashed
identifiers, normalized and SHA-256 hashed by the platform's own profile: Meta's custom
audience file (`email`, `phone`, and `fn`, `ln`, `zip`, `country` when asked for) and Google's
Customer Match file (`Email`, `Phone`, `First Name`, `Last Name`, and `Country`, `Zip` as
written).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.enrichment.profiles import IDENTITY_MAP_FIELD, PROFILE_ID_FIELD
from ingest.identity import columns as rules
from ingest.identity.profiles import Profile

SEGMENT_MEMBER = "profile_id"
CONSENT_GIVEN = "y"
# layout -> (normalization profile, {output column: identifier kind}), in the platform's
# own column names: Meta's customer file keys and Google's Customer Match headers.
AD_PLATFORM_LAYOUTS = {
    "meta_custom_audience": (
        "meta",
        {
            "email": "email",
            "phone": "phone",
            "fn": "first_name",
            "ln": "last_name",
            "zip": "postal_code",
            "country": "country",
        },
    ),
    "google_customer_match": (
        "google",
        {
            "Email": "email",
            "Phone": "phone",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Country": "country",
            "Zip": "postal_code",
        },
    ),
}
# What a member needs for a row: names, postal code and country only sharpen a match.
CONTACT_KEYS = ("email", "phone")
DEFAULT_MATCH_KEYS = CONTACT_KEYS
# The 1P profile fields the ad-platform layouts read each match key from.
EMAIL_FIELD = "personalEmail.address"
PHONE_FIELD = "mobilePhone.number"
COUNTRY_FIELD = "homeAddress.countryCode"
MATCH_KEY_FIELDS = {
    "email": EMAIL_FIELD,
    "phone": PHONE_FIELD,
    "first_name": "person.name.firstName",
    "last_name": "person.name.lastName",
    "postal_code": "homeAddress.postalCode",
    "country": COUNTRY_FIELD,
}


def exported_match_fields(match_keys: Sequence[str]) -> list[str]:
    """The profile fields an ad-platform export reads (the country always: phones need it)."""
    return list(dict.fromkeys([*(MATCH_KEY_FIELDS[k] for k in match_keys), COUNTRY_FIELD]))


def segment_members(profiles: DataFrame, members: DataFrame) -> DataFrame:
    """The profiles of a segment's members (a semi join keeps the profile grain)."""
    keys = members.select(F.col(SEGMENT_MEMBER).alias(PROFILE_ID_FIELD))
    return profiles.join(keys, on=PROFILE_ID_FIELD, how="left_semi")


def has_consent(consent_field: str | None) -> Column:
    """True where the member consented for the destination's purpose (no field: everyone)."""
    if consent_field is None:
        return F.lit(True)
    return F.coalesce(F.col(consent_field) == F.lit(CONSENT_GIVEN), F.lit(False))


def consent_status(field: str) -> Column:
    """Google's ConsentStatus from a y/n profile field: GRANTED, DENIED or UNSPECIFIED."""
    statuses = F.create_map(*[F.lit(x) for x in ("y", "GRANTED", "n", "DENIED")])
    return F.coalesce(F.try_element_at(statuses, F.col(field)), F.lit("UNSPECIFIED"))


def grants(signals: Mapping[str, str], required: Sequence[str]) -> Column:
    """True where the member granted every required signal (its field is `y`)."""
    checks = [F.coalesce(F.col(signals[s]) == F.lit(CONSENT_GIVEN), F.lit(False)) for s in required]
    return reduce(lambda a, b: a & b, checks, F.lit(True))


def identity_value(namespace: str) -> Column:
    """The first identity of a namespace, NULL when the profile has none (never an error)."""
    identities = F.try_element_at(F.col(IDENTITY_MAP_FIELD), F.lit(namespace))
    return F.get(identities, 0)["id"]


def generic_rows(
    members: DataFrame, *, identities: Sequence[str], attributes: Sequence[str]
) -> DataFrame:
    """One row per member: profile ID, each identity namespace, each field by its XDM path."""
    return members.select(
        F.col(PROFILE_ID_FIELD),
        *[identity_value(namespace).alias(namespace) for namespace in identities],
        *[F.col(path).alias(path) for path in attributes],
    )


def ad_platform_rows(
    members: DataFrame,
    *,
    layout: str,
    profile: Profile,
    default_country: str | None,
    match_keys: Sequence[str] = DEFAULT_MATCH_KEYS,
    keep: Sequence[str] = (),
    consent_signals: Mapping[str, str] | None = None,
) -> DataFrame:
    """A platform's upload layout: the match keys asked for, each normalized by the platform's
    profile and SHA-256 hashed unless the platform takes it as written (Google's country and
    postal code). Members with neither an email nor a phone are left out. `keep` names
    columns of `members` to carry along first (a member key the upload itself leaves out);
    `consent_signals` (signal -> y/n field) add Google's consent columns."""
    _, layout_columns = AD_PLATFORM_LAYOUTS[layout]
    columns = {name: kind for name, kind in layout_columns.items() if kind in match_keys}
    with rules.staging(members) as stage:
        normalized = {
            kind: rules.normalize_identifier(
                kind,
                profile,
                F.col(MATCH_KEY_FIELDS[kind]),
                country=F.col(COUNTRY_FIELD),
                default_country=default_country,
            )["value"]
            for kind in columns.values()
        }
    hashed = [
        rules.hash_value(
            normalized[kind], "sha256" if profile.hashes(kind) else "plaintext", "hex"
        ).alias(name)
        for name, kind in columns.items()
    ]
    contacts = [F.col(f"`{name}`") for name, kind in columns.items() if kind in CONTACT_KEYS]
    signals = [consent_status(f).alias(s) for s, f in (consent_signals or {}).items()]
    rows = stage.frame.select(*[F.col(f"`{name}`") for name in keep], *hashed, *signals)
    return rows.where(F.coalesce(*contacts).isNotNull())


def segment_membership(profiles: DataFrame, predicate_sql: str) -> DataFrame:
    """Members of a segment: the profile IDs its (already checked) predicate selects."""
    return profiles.where(F.expr(predicate_sql)).select(
        F.col(PROFILE_ID_FIELD).alias(SEGMENT_MEMBER)
    )
