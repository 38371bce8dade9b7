"""Erasure: the keys that name a person asked to be forgotten, and the rows they name.

A person is named by profile ID, email or phone. Each becomes a key `<kind>:<sha256 hex>`:
the SHA-256 of the profile ID as written (trimmed), or of the email or phone normalized by a
normalization profile (so any spelling of the same mailbox or number names the same person).
Only these hashes are kept (the `forgotten` table, receipts, the ledger); rows are found by
computing the same keys from their columns, with Spark built-ins.
"""

from __future__ import annotations

from collections.abc import Collection

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.identity import columns as rules
from ingest.identity.profiles import Profile

KINDS = ("profile_id", "email", "phone")


def _key(kind: str, digest: Column) -> Column:
    return F.when(digest.isNotNull(), F.concat(F.lit(f"{kind}:"), digest))


def key_columns(
    *,
    profile_id: Column | None,
    email: Column | None,
    phone: Column | None,
    country: Column | None,
    profile: Profile,
    default_country: str | None,
) -> list[Column]:
    """The keys a row's columns give (NULL where a column is missing, empty or unusable)."""
    keys = []
    if profile_id is not None:
        trimmed = F.trim(profile_id.cast("string"))
        keys.append(_key("profile_id", F.sha2(F.when(trimmed != "", trimmed), 256)))
    for kind, value, row_country in (("email", email, None), ("phone", phone, country)):
        if value is None:
            continue
        normalized = rules.normalize_identifier(
            kind,
            profile,
            value.cast("string"),
            country=row_country,
            default_country=default_country,
        )["value"]
        keys.append(_key(kind, F.sha2(normalized, 256)))
    return keys


def request_keys(
    requests: DataFrame, *, profile: Profile, default_country: str | None
) -> DataFrame:
    """`key` of every usable request (`profile_id`, `email`, `phone` columns, any empty)."""
    keys = key_columns(
        profile_id=F.col("profile_id"),
        email=F.col("email"),
        phone=F.col("phone"),
        country=None,
        profile=profile,
        default_country=default_country,
    )
    exploded = requests.select(F.explode(F.array(*keys)).alias("key"))
    return exploded.where(F.col("key").isNotNull()).distinct()


def names_any(keys: list[Column], wanted: Collection[str]) -> Column:
    """Whether any of a row's keys is one of `wanted` (a small set, sent with the plan)."""
    if not wanted:
        return F.lit(False)
    literal = F.array(*[F.lit(k) for k in sorted(set(wanted))])
    return F.coalesce(F.arrays_overlap(F.array_compact(F.array(*keys)), literal), F.lit(False))
