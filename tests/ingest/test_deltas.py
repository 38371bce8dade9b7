"""Folding a delta into the universe: upserts replace, deletes remove, the later file wins."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ingest.deltas import FILE_ORDER, delta_counts, fold_delta, latest_changes

UNIVERSE = "partner_id string, email_sha256 string, income string"
CHANGES = f"{UNIVERSE}, operation string, {FILE_ORDER} int"


def test_fold_replaces_upserted_removes_deleted_and_keeps_the_rest(spark: SparkSession) -> None:
    universe = spark.createDataFrame(
        [("p1", "a", "low"), ("p2", "b", "mid"), ("p3", "c", "high")], UNIVERSE
    )
    changes = spark.createDataFrame(
        [
            ("p2", "b2", "high", "upsert", 0),  # changed
            ("p3", None, None, "delete", 0),  # deleted
            ("p4", "d", "low", "upsert", 0),  # new
            ("p9", None, None, "delete", 0),  # unknown: nothing to delete
        ],
        CHANGES,
    )
    latest = latest_changes(changes)
    folded = {
        r.partner_id: (r.email_sha256, r.income) for r in fold_delta(universe, latest).collect()
    }
    assert folded == {"p1": ("a", "low"), "p2": ("b2", "high"), "p4": ("d", "low")}
    assert delta_counts(universe, latest) == {
        "upserts_new": 1,
        "upserts_changed": 1,
        "deletes": 1,
        "deletes_unknown": 1,
    }


def test_of_two_changes_to_one_id_in_one_delivery_the_later_file_wins(
    spark: SparkSession,
) -> None:
    universe = spark.createDataFrame([("p1", "a", "low")], UNIVERSE)
    changes = spark.createDataFrame(
        [
            ("p1", "x", "mid", "upsert", 0),
            ("p1", None, None, "delete", 1),  # a later file deletes it again
            ("p2", None, None, "delete", 0),
            ("p2", "y", "high", "upsert", 1),  # a later file brings it (back)
        ],
        CHANGES,
    )
    folded = {
        r.partner_id: r.income for r in fold_delta(universe, latest_changes(changes)).collect()
    }
    assert folded == {"p2": "high"}
