"""The enrich job's boundaries: what it needs first; mapping problems named before Spark runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from jobs import enrich
from jobs.config import load_workspace, write_starter_workspace
from jobs.errors import WorkspaceError
from schemas.errors import UnknownFieldError
from tests.conftest import EditConfig


def test_enrich_without_an_ingested_batch_says_to_ingest_first(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_starter_workspace(tmp_path, force=False)
    with pytest.raises(WorkspaceError, match="run `partnerkit ingest --partner acme` first"):
        enrich.run(load_workspace(tmp_path), spark)


def test_profile_field_that_the_schema_lacks_is_named(
    spark: SparkSession, tmp_path: Path, edit_config: EditConfig
) -> None:
    workspace = edit_config(
        tmp_path, lambda data: data["seeds"]["profile_fields"].update(loyalty_tier="loyalty.level")
    )
    with pytest.raises(UnknownFieldError) as raised:
        enrich.run(workspace, spark)
    assert "seeds.profile_fields: loyalty_tier -> loyalty.level is not" in str(raised.value)
