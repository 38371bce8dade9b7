"""The enrich job's boundaries: what it needs first; mapping problems named before Spark runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from ingest.enrichment.profiles import PartnerEnrichment, partner_attribute_paths
from jobs import enrich
from jobs.cli.app import run_cli
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
    spark: SparkSession,
    tmp_path: Path,
    edit_config: EditConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = edit_config(
        tmp_path, lambda data: data["seeds"]["profile_fields"].update(loyalty_tier="loyalty.level")
    )
    with pytest.raises(UnknownFieldError) as raised:
        enrich.run(workspace, spark)
    assert "seeds.profile_fields: loyalty_tier -> loyalty.level is not" in str(raised.value)
    assert_hint_runs(str(raised.value), capsys)


def assert_hint_runs(message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Case: a hint read `partnerkit schema show enriched_profile (partner groups)`, which is
    not a command. The command an error names runs as printed."""
    [command] = re.findall(r"`(partnerkit [^`]+)`", message)
    assert run_cli(shlex.split(command)[1:]) == 0, command
    capsys.readouterr()


def test_an_attribute_the_schema_lacks_names_a_command_that_lists_them(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partner = PartnerEnrichment(
        name="acme",
        namespace="acmePersonId",
        persist_partner_id=True,
        retention_days=365,
        attributes={"demographic": ("shoe_size",)},
    )
    with pytest.raises(UnknownFieldError) as raised:
        partner_attribute_paths(partner, [], schema="enriched_profile")
    assert_hint_runs(str(raised.value), capsys)
