"""Fixtures of the end-to-end tests: one workspace every job has run on, for fresh processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from jobs import enrich, match, segments
from jobs import partner_ingest as ingest
from jobs import seed_prepare as prepare
from tests.conftest import acme_only, copy_workspace, edit_workspace_config


@pytest.fixture(scope="session")
def enriched_workspace(
    spark_session: SparkSession, generated_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The generated workspace (acme only) after ingest, prepare, match, enrich and segments,
    run in this process. Read-only: tests copy it."""
    root = copy_workspace(generated_workspace, tmp_path_factory.mktemp("enriched") / "ws")
    workspace = edit_workspace_config(root, acme_only)  # a second partner doubles each job
    for partner in workspace.config.partners:
        ingest.run(workspace, spark_session, partner=partner.name)
    prepare.run(workspace, spark_session)
    match.run(workspace, spark_session)
    enrich.run(workspace, spark_session)
    segments.run(workspace, spark_session)
    return root
