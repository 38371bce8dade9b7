"""Warehouse tables: committed reads, and a table nobody wrote yet is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from jobs.config import load_workspace, write_starter_workspace
from jobs.errors import WorkspaceError
from jobs.warehouse.tables import read_committed
from tests.conftest import commit_table


def test_a_missing_partition_names_the_table_and_the_command_that_writes_it(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_starter_workspace(tmp_path, force=False)
    workspace = load_workspace(tmp_path)
    warehouse = workspace.warehouse
    with pytest.raises(WorkspaceError) as raised:
        read_committed(spark, warehouse, "matches", "acme", remedy="run `partnerkit match` first")
    assert raised.value.path == f"{warehouse}/matches/partner=acme"
    assert raised.value.expected == "the matches of partner acme; run `partnerkit match` first"

    rows = spark.createDataFrame(
        [("p1", "acme", "X")], "profile_id string, partner string, x string"
    )
    commit_table(workspace, rows, "matches", partner="acme")
    read = read_committed(spark, warehouse, "matches", "acme", remedy="unused")
    assert [tuple(r) for r in read.collect()] == [("acme", "p1", "X")]


def test_a_table_folder_linked_outside_the_warehouse_is_refused_and_nothing_written(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Case 5: a symlinked table folder wrote versions through the link, outside the warehouse."""
    from jobs.errors import OutsideWorkspaceError

    write_starter_workspace(tmp_path / "ws", force=False)
    workspace = load_workspace(tmp_path / "ws")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "ws" / "warehouse" / "profiles").symlink_to(elsewhere, target_is_directory=True)
    frame = spark.createDataFrame([("C1",)], "profileId string")
    with pytest.raises(OutsideWorkspaceError, match="profiles/v-.*: expected a path inside"):
        commit_table(workspace, frame, "profiles")
    assert list(elsewhere.iterdir()) == []
    assert not list((tmp_path / "ws" / "warehouse" / ".staging").glob("*"))


def test_an_interrupt_after_the_commit_keeps_the_version_it_committed(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Ctrl-C while a run's after-commit work ran (forget's purge of old versions) removed
    every folder the run had claimed, the version it had just committed among them: the
    table's current version pointed at a missing folder."""
    write_starter_workspace(tmp_path, force=False)
    workspace = load_workspace(tmp_path)
    rows = spark.createDataFrame(
        [("p1", "acme", "X")], "profile_id string, partner string, x string"
    )

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        commit_table(
            workspace,
            rows,
            "matches",
            partner="acme",
            then=lambda _path, run: run.after_commit.append(interrupted),
        )
    read = read_committed(spark, workspace.warehouse, "matches", "acme", remedy="unused")
    assert [tuple(r) for r in read.collect()] == [("acme", "p1", "X")]
