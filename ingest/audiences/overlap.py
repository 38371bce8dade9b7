"""Aggregate overlap between a brand's seeds and a partner universe: counts, never rows.

As a clean room's overlap report: how many seed profiles share a hashed identifier with the
universe, overall, per identifier kind and, optionally, per value of one partner attribute.
Nothing row-level is returned, and every count under `k` is withheld (None, shown as
"< k"), so no count describes a handful of people.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def withheld(count: int, k: int) -> int | None:
    """The count, or None when it is under k (zero included)."""
    return count if count >= k else None


def withheld_text(count: int | None, k: int) -> str:
    """A count as shown: `< k` where it was withheld."""
    return f"< {k}" if count is None else f"{count:,}"


def overlap_pairs(seed_keys: DataFrame, universe_ids: DataFrame) -> DataFrame:
    """(profile, partner person, kind) for every hashed identifier both sides hold."""
    universe = universe_ids.select("partner_id", "kind", "hash_key")
    return (
        seed_keys.join(universe, on=["kind", "hash_key"], how="inner")
        .select("profile_id", "partner_id", "kind")
        .distinct()
    )


def overlap_counts(seed_keys: DataFrame, pairs: DataFrame, *, k: int) -> dict[str, Any]:
    """Seeds with a usable identifier, seeds and partner persons in the overlap, per kind."""
    seeds = seed_keys.groupBy("kind").agg(F.countDistinct("profile_id").alias("seeds"))
    shared = pairs.groupBy("kind").agg(F.countDistinct("profile_id").alias("overlapping"))
    per_kind = {
        row["kind"]: {
            "seeds": withheld(row["seeds"], k),
            "overlapping": withheld(row["overlapping"] or 0, k),
        }
        for row in seeds.join(shared, on="kind", how="left").collect()
    }
    totals = pairs.agg(
        F.countDistinct("profile_id").alias("profiles"),
        F.countDistinct("partner_id").alias("persons"),
    ).first()
    return {
        "seeds": withheld(seed_keys.select("profile_id").distinct().count(), k),
        "overlapping_seeds": withheld(totals["profiles"], k),
        "overlapping_partner_persons": withheld(totals["persons"], k),
        "by_kind": dict(sorted(per_kind.items())),
    }


def overlap_by_value(
    pairs: DataFrame, universe: DataFrame, *, partner_id: str, column: str, k: int
) -> dict[str, int | None]:
    """Overlapping seed profiles per value of a partner column (a profile counts once per
    value its overlapping persons hold)."""
    values = universe.select(F.col(partner_id).alias("partner_id"), F.col(column).alias("value"))
    counted = (
        pairs.join(values, on="partner_id", how="inner")
        .groupBy("value")
        .agg(F.countDistinct("profile_id").alias("profiles"))
        .collect()
    )
    return {
        str(row["value"]) if row["value"] is not None else "(none)": withheld(row["profiles"], k)
        for row in sorted(counted, key=lambda r: str(r["value"]))
    }
