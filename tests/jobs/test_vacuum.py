"""`partnerkit vacuum`: replaced versions older than kept go; current ones never do."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.config import load_workspace, write_starter_workspace
from jobs.warehouse.commits import read_manifest
from tests.conftest import Cli, commit_table


def test_vacuum_keeps_current_and_recent_versions(
    spark: SparkSession, tmp_path: Path, cli: Cli
) -> None:
    write_starter_workspace(tmp_path, force=False)
    workspace = load_workspace(tmp_path)
    rows = spark.createDataFrame([("p1",)], "profile_id string")
    first, second, third = (commit_table(workspace, rows, "profiles") for _ in range(3))

    kept = cli("vacuum", "--workspace", str(tmp_path), "--json").json()
    assert kept["counts"]["versions"] == 0 and kept["counts"]["keep_days"] == 7

    listed = cli("vacuum", "--workspace", str(tmp_path), "--keep-days", "0", "--dry-run")
    assert listed.code == 0 and "would remove 2 version(s)" in listed.stderr
    assert all(os.path.isdir(p) for p in (first, second, third))

    time.sleep(0.01)  # replaced strictly before now
    removed = cli("vacuum", "--workspace", str(tmp_path), "--keep-days", "0", "--json").json()
    assert sorted(removed["counts"]["folders"]) == sorted(
        [f"profiles/{Path(first).name}", f"profiles/{Path(second).name}"]
    )
    assert [os.path.isdir(p) for p in (first, second, third)] == [False, False, True]
    assert read_manifest(workspace.warehouse).tables["profiles"].folders == [Path(third).name]
    assert spark.read.parquet(third).count() == 1
