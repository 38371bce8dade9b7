"""Suppression lists: people who must never be exported, matched to segment members.

A list names people by profile ID, email or phone, in plaintext or as SHA-256 hex of the
value normalized by a normalization profile. Members are keyed the same way (their email and
phone normalized by that profile and hashed), so a list entry and a member match whatever
case, spacing or phone format each was written in.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.audiences.exports import COUNTRY_FIELD, EMAIL_FIELD, PHONE_FIELD
from ingest.enrichment.profiles import PROFILE_ID_FIELD
from ingest.identity import columns as rules
from ingest.identity.profiles import Profile

KEY_COLUMNS = ("kind", "key")


def _hashed(
    kind: str, value: Column, profile: Profile, country: Column | None, default: str | None
) -> Column:
    normalized = rules.normalize_identifier(
        kind, profile, value, country=country, default_country=default
    )["value"]
    return F.sha2(normalized, 256)


def list_keys(
    listing: DataFrame,
    *,
    profile_id: str | None,
    email: str | None,
    phone: str | None,
    hashed: bool,
    profile: Profile,
    default_country: str | None,
) -> DataFrame:
    """(kind, key) of every usable entry: `profile_id` as written, emails and phones as the
    SHA-256 hex of their normalized value (taken as given when the list is hashed)."""
    parts = []
    if profile_id:
        parts.append(("profile_id", F.trim(F.col(profile_id))))
    for kind, column in (("email", email), ("phone", phone)):
        if column:
            value = F.col(column)
            key = (
                F.lower(F.trim(value))
                if hashed
                else _hashed(kind, value, profile, None, default_country)
            )
            parts.append((kind, key))
    frames = [listing.select(F.lit(kind).alias("kind"), key.alias("key")) for kind, key in parts]
    keys = reduce(DataFrame.unionByName, frames)
    return keys.where(F.col("key").isNotNull() & (F.col("key") != "")).distinct()


def row_keys(
    rows: DataFrame,
    *,
    profile_id: str,
    email: str | None,
    phone: str | None,
    country: str | None,
    profile: Profile,
    default_country: str | None,
) -> DataFrame:
    """(`profile_id` column, kind, key) of each row: its profile ID, hashed email and phone
    (column paths; None: the frame has no such column)."""
    region = F.col(country) if country else None
    entries = [
        F.struct(
            F.lit("profile_id").alias("kind"),
            F.trim(F.col(profile_id).cast("string")).alias("key"),
        )
    ]
    for kind, column, where in (("email", email, None), ("phone", phone, region)):
        if column:
            value = F.col(column).cast("string")
            key = _hashed(kind, value, profile, where, default_country)
            entries.append(F.struct(F.lit(kind).alias("kind"), key.alias("key")))
    keyed = rows.select(F.col(profile_id).alias(profile_id), F.inline(F.array(*entries)))
    return keyed.where(F.col("key").isNotNull())


def member_keys(members: DataFrame, *, profile: Profile, default_country: str | None) -> DataFrame:
    """(profileId, kind, key) of each member: its profile ID, hashed email and phone."""
    return row_keys(
        members,
        profile_id=PROFILE_ID_FIELD,
        email=EMAIL_FIELD,
        phone=PHONE_FIELD,
        country=COUNTRY_FIELD,
        profile=profile,
        default_country=default_country,
    )


def suppressed_members(members: DataFrame, keys: DataFrame, **keying: object) -> DataFrame:
    """The profile IDs of members any list entry names."""
    keyed = member_keys(members, **keying)  # type: ignore[arg-type]
    return (
        keyed.join(keys, on=list(KEY_COLUMNS), how="left_semi").select(PROFILE_ID_FIELD).distinct()
    )


def keys_fingerprint(keys: DataFrame) -> str:
    """A short fingerprint of a set of (kind, key) entries, order aside: how a match or enrich
    notices that a list changed (one aggregation, no collect of the entries)."""
    digest = F.crc32(F.concat_ws(":", "kind", "key"))
    row = keys.agg(
        F.count(F.lit(1)).alias("n"), F.sum(digest).alias("s"), F.max(digest).alias("m")
    ).first()
    return f"{row['n']}-{row['s'] or 0}-{row['m'] or 0}" if row is not None else "0"
