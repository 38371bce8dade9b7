"""Opt-outs: people a partner (or identity provider) says must never be matched, enriched or
exported, named by partner ID or by a hashed email or phone in the partner's hash form.

An opt-out file is checked row by row like a delivery (reasons, quarantine); accepted rows
become (kind, key) entries: `partner_id` with the ID as written (trimmed), or an identifier
kind with its hash in canonical text (hex lower-cased, `0x` removed). Entries only ever
accumulate: an opt-out is kept for good. Applying them resolves the entries to partner
persons (a person holding an opted-out hash is opted out) and to seed profiles (a profile
whose identifier hashes to an opted-out key). All Spark built-ins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingest.identity.detection import canonical_hash, hash_bytes
from ingest.partner_files import (
    CORRUPT,
    INVALID_UTF8,
    MALFORMED_ROW,
    NUL_BYTE,
    POSITION,
    REASONS,
    IdentifierSpec,
    any_contains,
    failed_check,
    hash_form_ok,
    present,
)

PARTNER_ID_KIND = "partner_id"
# A row naming nobody: no partner ID and no identifier.
OPTOUT_KEY_MISSING = "optout_key_missing"
OPTOUT_HASH_FORM = "hash_form"
ENTRY_COLUMNS = ("kind", "key")


@dataclass(frozen=True)
class OptOutMapping:
    """Which columns of an opt-out file name the person, and the partner's hash form."""

    partner_id: str | None
    identifiers: tuple[IdentifierSpec, ...]
    hash_type: str
    encoding: str

    @property
    def columns(self) -> list[str]:
        named = [self.partner_id] if self.partner_id else []
        return named + [i.column for i in self.identifiers]


def _cell(column: str) -> Column:
    return F.col(f"`{column}`")


def check_optout_rows(frame: DataFrame, mapping: OptOutMapping) -> DataFrame:
    """Add `reasons`: a row that cannot be parsed, holds bad bytes, names nobody, or carries
    an identifier that is not in the partner's hash form (empty array: accepted)."""
    data = [_cell(c) for c in frame.columns if c not in (CORRUPT, POSITION)]
    named = reduce(lambda a, b: a | b, [present(_cell(c)) for c in mapping.columns])
    checks = [
        failed_check(any_contains(data, "\ufffd"), INVALID_UTF8),
        failed_check(any_contains(data, "\u0000"), NUL_BYTE),
        failed_check(~named, OPTOUT_KEY_MISSING),
    ]
    for spec in mapping.identifiers:
        value = _cell(spec.column)
        bad = present(value) & ~hash_form_ok(value, mapping.hash_type, mapping.encoding)
        checks.append(failed_check(bad, f"{OPTOUT_HASH_FORM}:{spec.column}"))
    reasons = F.when(F.col(CORRUPT).isNotNull(), F.array(F.lit(MALFORMED_ROW))).otherwise(
        F.array_remove(F.array(*checks), "")
    )
    return frame.withColumn(REASONS, reasons)


def optout_entries(checked: DataFrame, mapping: OptOutMapping) -> DataFrame:
    """(kind, key) of every accepted row's partner ID and identifiers, distinct."""
    parts: list[tuple[str, Column]] = []
    if mapping.partner_id:
        parts.append((PARTNER_ID_KIND, F.trim(_cell(mapping.partner_id))))
    parts += [
        (spec.kind, canonical_hash(_cell(spec.column), mapping.encoding))
        for spec in mapping.identifiers
    ]
    accepted = checked.where(F.size(REASONS) == 0)
    entries = F.array(*[F.struct(F.lit(k).alias("kind"), v.alias("key")) for k, v in parts])
    exploded = accepted.select(F.inline(entries))
    return exploded.where(F.col("key").isNotNull() & (F.col("key") != "")).distinct()


def new_entries(previous: DataFrame | None, entries: DataFrame) -> DataFrame:
    """Entries not already held: what a delivery adds to the kept opt-outs."""
    if previous is None:
        return entries
    return entries.join(previous.select(*ENTRY_COLUMNS), list(ENTRY_COLUMNS), "left_anti")


def _identifier_keys(optouts: DataFrame, hash_type: str, encoding: str) -> DataFrame:
    """(kind, hash_key) of the identifier entries, in the binary form matching joins use."""
    identifiers = optouts.where(F.col("kind") != PARTNER_ID_KIND)
    return identifiers.select(
        "kind", hash_bytes(F.col("key"), hash_type, encoding).alias("hash_key")
    )


def opted_out_persons(
    universe_ids: DataFrame, optouts: DataFrame, *, hash_type: str, encoding: str
) -> DataFrame:
    """`partner_id` of every person opted out by ID, or holding an opted-out identifier."""
    by_id = optouts.where(F.col("kind") == PARTNER_ID_KIND).select(F.col("key").alias("partner_id"))
    keys = F.broadcast(_identifier_keys(optouts, hash_type, encoding))
    holders = universe_ids.join(keys, ["kind", "hash_key"], "left_semi").select("partner_id")
    return by_id.unionByName(holders).distinct()


def opted_out_profiles(
    seed_keys: DataFrame, optouts: DataFrame, *, hash_type: str, encoding: str
) -> DataFrame:
    """`profile_id` of every seed whose identifier hashes to an opted-out key
    (`seed_keys`: profile_id, kind, hash_key, as the match joins them)."""
    keys = F.broadcast(_identifier_keys(optouts, hash_type, encoding))
    return seed_keys.join(keys, ["kind", "hash_key"], "left_semi").select("profile_id").distinct()


def without_persons(frame: DataFrame, persons: DataFrame) -> DataFrame:
    """The rows of `frame` whose `partner_id` is not among `persons`."""
    return frame.join(F.broadcast(persons), "partner_id", "left_anti")


def optout_twin(
    row: dict[str, str | None],
    *,
    partner_id: str | None,
    identifiers: Sequence[tuple[str, str]],
    encoding: str,
) -> list[tuple[str, str]]:
    """Pure-Python twin of `optout_entries` for one accepted row (tests check they agree)."""
    found = []
    if partner_id and (row.get(partner_id) or "").strip():
        found.append((PARTNER_ID_KIND, (row[partner_id] or "").strip()))
    for column, kind in identifiers:
        value = (row.get(column) or "").strip()
        if not value:
            continue
        if encoding == "hex":
            value = value[2:] if value.lower().startswith("0x") else value
            value = value.lower()
        found.append((kind, value))
    return found
