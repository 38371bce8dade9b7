"""The seed_prepare job: what it refuses to publish."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from ingest.errors import EmptyFileError
from jobs import seed_prepare as prepare
from jobs.cli.exit_codes import EXIT_QUALITY_GATE, exit_code_for
from jobs.config import load_workspace
from jobs.warehouse.catalogue import SEEDS_TABLE
from jobs.warehouse.tables import read_committed
from tests.conftest import copy_workspace


def test_a_header_only_seeds_file_is_refused_and_the_seeds_stay(
    spark: SparkSession, generated_workspace: Path, tmp_path: Path
) -> None:
    """Case 2: a header-only seeds file replaced `seeds` and `seed_identifiers` with 0 rows."""
    root = copy_workspace(generated_workspace, tmp_path / "ws")
    workspace = load_workspace(root)
    prepare.run(workspace, spark, partner="acme")
    before = read_committed(spark, workspace.warehouse, SEEDS_TABLE).count()
    seeds_file = root / "data/seeds.csv"
    seeds_file.write_text(seeds_file.read_text().splitlines()[0] + "\n")
    with pytest.raises(
        EmptyFileError, match="seeds.csv: the file has a header but no rows"
    ) as caught:
        prepare.run(workspace, spark, partner="acme")
    assert exit_code_for(caught.value) == EXIT_QUALITY_GATE
    assert read_committed(spark, workspace.warehouse, SEEDS_TABLE).count() == before > 0
