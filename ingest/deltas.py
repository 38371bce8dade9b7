"""Delta deliveries: upserts and deletes keyed by partner ID, folded into the universe.

A partner that delivers changes sends rows marked `upsert` (the person's whole new record) or
`delete` (only the partner ID counts), in one file with an operation column or in separate
delete files. The universe as of a delta is the previous universe without every changed ID,
plus the upserted rows: folded once at ingest and stored, so readers never fold.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

OPERATION = "operation"
UPSERT = "upsert"
DELETE = "delete"
# The position of a change's file in its delivery: of two changes to one ID in one delivery,
# the one in the later file wins (within one file a repeated ID is quarantined).
FILE_ORDER = "_file_order"
# A folded universe is one folder; each row keeps the batch it was delivered in here, and
# readers show it as the row's `batch_id` (jobs.warehouse.universe.current_universe).
SOURCE_BATCH = "source_batch"


def operation_of(value: Column) -> Column:
    """`upsert` or `delete` as written (any case, spaces around ignored), else NULL."""
    operation = F.lower(F.trim(value))
    return F.when(operation.isin(UPSERT, DELETE), operation)


def latest_changes(changes: DataFrame) -> DataFrame:
    """One change per partner ID: the one from the latest file of the delivery."""
    latest = F.max(FILE_ORDER).over(Window.partitionBy("partner_id"))
    return (
        changes.withColumn("_latest", latest)
        .where(F.col(FILE_ORDER) == F.col("_latest"))
        .drop("_latest", FILE_ORDER)
    )


def fold_delta(universe: DataFrame, changes: DataFrame) -> DataFrame:
    """The universe after the changes: every changed ID's old row removed, upserts added.

    `changes` holds one row per partner ID (latest_changes) with the universe's columns and
    `operation`.
    """
    kept = universe.join(changes.select("partner_id"), "partner_id", "left_anti")
    upserted = changes.where(F.col(OPERATION) == UPSERT).drop(OPERATION)
    return kept.unionByName(upserted.select(*universe.columns))


def delta_counts(universe: DataFrame, changes: DataFrame) -> dict[str, int]:
    """How the changes meet the universe: new and changed persons, deletes, and deletes of IDs
    the universe does not hold (a no-op, counted so a partner's bad delete list shows)."""
    known = universe.select("partner_id", F.lit(True).alias("_known"))
    joined = changes.select("partner_id", OPERATION).join(known, "partner_id", "left")
    rows = joined.groupBy(OPERATION, F.coalesce("_known", F.lit(False)).alias("known")).count()
    names = {
        (UPSERT, False): "upserts_new",
        (UPSERT, True): "upserts_changed",
        (DELETE, True): "deletes",
        (DELETE, False): "deletes_unknown",
    }
    counts = dict.fromkeys(names.values(), 0)
    for row in rows.collect():
        counts[names[(row[OPERATION], row["known"])]] = int(row["count"])
    return counts
