"""Commits: a run's versions appear together, stray records and old versions go, any URI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.warehouse.commits import (
    PendingCommit,
    Store,
    commit_history,
    read_manifest,
    remove_uncommitted_records,
    vacuum,
)


def staged_version(warehouse: Path, workflow_id: str, *units: str) -> PendingCommit:
    commit = PendingCommit(str(warehouse), workflow_id=workflow_id, job="test")
    for unit in units:
        folder = Path(commit.version_folder(unit))
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_text("x")
        commit.stage_version(unit)
    return commit


def test_nothing_is_visible_until_publish_and_then_everything_is(tmp_path: Path) -> None:
    commit = staged_version(tmp_path, "wf-1", "profiles", "canonical_attributes")
    assert read_manifest(str(tmp_path)).tables == {}
    assert commit.publish() == 1
    tables = read_manifest(str(tmp_path)).tables
    assert {u: e.folders for u, e in tables.items()} == {
        "profiles": ["v-wf-1"],
        "canonical_attributes": ["v-wf-1"],
    }
    assert staged_version(tmp_path, "wf-2", "profiles").publish() == 2
    tables = read_manifest(str(tmp_path)).tables
    assert (tables["profiles"].folders, tables["canonical_attributes"].folders) == (
        ["v-wf-2"],
        ["v-wf-1"],
    )
    assert [r.sequence for r in commit_history(Store(str(tmp_path)))] == [1, 2]


def test_a_record_written_without_its_current_json_is_not_a_commit(tmp_path: Path) -> None:
    staged_version(tmp_path, "wf-1", "profiles").publish()
    (tmp_path / "_commits/00000002.json").write_text("{}")  # killed between the two writes
    assert [r.sequence for r in commit_history(Store(str(tmp_path)))] == [1]
    assert remove_uncommitted_records(Store(str(tmp_path))) == ["00000002.json"]


def test_vacuum_removes_only_versions_replaced_longer_ago_than_kept(tmp_path: Path) -> None:
    for number in (1, 2, 3):
        staged_version(tmp_path, f"wf-{number}", "profiles").publish()
    store = Store(str(tmp_path))
    assert vacuum(store, keep_days=7) == []  # replaced moments ago
    later = datetime.now(UTC) + timedelta(days=8)
    assert vacuum(store, keep_days=7, now=later) == ["profiles/v-wf-1", "profiles/v-wf-2"]
    assert sorted(p.name for p in (tmp_path / "profiles").iterdir()) == ["v-wf-3"]


def test_the_manifest_is_written_through_hadoop_for_a_uri_warehouse(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The same protocol through Spark's Hadoop FileSystem, as on s3a:// or hdfs://."""
    uri = f"file://{tmp_path}"
    store = Store(uri, spark)
    store.local = False  # take the Hadoop path although the scheme is file://
    store.write_text("_commits/current.json", '{"sequence": 4}')
    assert store.read_text("_commits/current.json") == '{"sequence": 4}'
    assert store.names("_commits") == ["current.json"]
    store.remove("_commits")
    assert store.read_text("_commits/current.json") is None
