"""Audience changes between two exports: which rows a destination must add and remove.

A destination that syncs incrementally keeps the rows it last received (its state). Each row
carries the member it belongs to (a profile ID, or a partner ID for prospects) and a digest of
the exported columns, so a changed row is told from an unchanged one without comparing every
column. Layouts keyed by a member column (csv, jsonl, parquet: the profile or partner ID)
take a changed member as one add, an upsert; the ad-platform layouts carry only hashed
identifiers, so a changed member is the removal of its old row and the addition of its new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

MEMBER = "_member"  # who a row belongs to; kept in the state, never exported
DIGEST = "_digest"  # SHA-256 of the exported columns, as JSON
OPERATION = "operation"  # add | remove, in layouts that carry both in one file
ADD = "add"
REMOVE = "remove"


def column(name: str) -> Column:
    """A column by its exact name (exported names are XDM paths with dots in them)."""
    return F.col(f"`{name}`")


def exported_columns(rows: DataFrame) -> list[str]:
    """The columns a destination receives (the member and digest stay in the warehouse)."""
    return [c for c in rows.columns if c not in (MEMBER, DIGEST)]


def with_digest(rows: DataFrame) -> DataFrame:
    """Rows keyed for diffing: a digest of every exported column, nulls included."""
    columns = [column(name) for name in exported_columns(rows)]
    as_json = F.to_json(F.struct(*columns), {"ignoreNullFields": "false"})
    return rows.withColumn(DIGEST, F.sha2(as_json, 256))


@dataclass(frozen=True)
class AudienceChanges:
    """What to send: rows to add (new or changed members) and rows to remove (as last sent)."""

    adds: DataFrame
    removes: DataFrame


def audience_changes(current: DataFrame, last_sent: DataFrame, *, keyed: bool) -> AudienceChanges:
    """Adds: current rows not sent as they are. Removes: sent rows of members no longer in the
    audience, and for unkeyed layouts (`keyed=False`) also the old rows of changed members."""
    sent = last_sent.select(MEMBER, DIGEST, *map(column, exported_columns(current)))
    adds = current.join(sent.select(MEMBER, DIGEST), on=[MEMBER, DIGEST], how="left_anti")
    gone_on = [MEMBER] if keyed else [MEMBER, DIGEST]
    removes = sent.join(current.select(*gone_on), on=gone_on, how="left_anti")
    return AudienceChanges(adds=adds, removes=removes)


def with_operation(rows: DataFrame, operation: str, columns: Sequence[str]) -> DataFrame:
    """Rows in the layout's column order, led by the operation a reader applies."""
    return rows.select(F.lit(operation).alias(OPERATION), *map(column, columns))
