"""The seed_prepare job: what it refuses to publish."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from ingest.errors import EmptyFileError, MissingColumnsError
from jobs import seed_prepare as prepare
from jobs.cli.exit_codes import EXIT_QUALITY_GATE, exit_code_for
from jobs.config import load_workspace
from jobs.warehouse.catalogue import SEED_IDENTIFIERS_TABLE, SEED_QUARANTINE_TABLE, SEEDS_TABLE
from jobs.warehouse.tables import read_committed
from tests.conftest import EditConfig, copy_workspace


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


def test_missing_address_columns_say_to_set_their_keys_to_null(
    spark: SparkSession, tmp_path: Path, edit_config: EditConfig
) -> None:
    """Case: a seed file without address columns failed naming the columns, not the keys to
    set to null. Now the keys are named, and with them null the file prepares."""
    seeds = tmp_path / "seeds.csv"
    seeds.write_text("profile_id,email,phone,country\nC1,a@example.com,2015550100,US\n")

    def own_file(data: dict) -> None:
        data["seeds"]["source"]["path"] = str(seeds)
        data["seeds"]["attributes"], data["seeds"]["profile_fields"] = [], {}

    workspace = edit_config(tmp_path / "ws", own_file)
    with pytest.raises(MissingColumnsError) as caught:
        prepare.run(workspace, spark, partner="acme")
    assert "set seeds.columns.city, seeds.columns.postal_code, seeds.columns.state, " in str(
        caught.value
    )

    def no_address(data: dict) -> None:
        own_file(data)
        data["seeds"]["columns"].update(street=None, city=None, state=None, postal_code=None)

    workspace = edit_config(tmp_path / "ws2", no_address)
    assert prepare.run(workspace, spark, partner="acme").counts["accepted_rows"] == 1


def test_the_identifier_quarantine_holds_each_rejected_value_as_written_once(
    spark: SparkSession, tmp_path: Path, edit_config: EditConfig
) -> None:
    """Rejected identifiers are fetched back from the valid seed rows: a repeated profile ID
    (its later row quarantined as a row) adds no second value, and the identifiers table
    holds hashes only."""
    seeds = tmp_path / "seeds.csv"
    seeds.write_text(
        "profile_id,email,phone,street,city,state,postal_code,country\n"
        "C1,a@example.com,12345,1 Main Street,Austin,TX,78701,US\n"
        "C2,jane at example.com,2015550100,,,,,US\n"
        "C2,other at example.com,2015550101,,,,,US\n"
        "C3,c@example.com,,1 Elm St,,TX,78701,US\n"
    )

    def own_file(data: dict) -> None:
        data["seeds"]["source"]["path"] = str(seeds)
        data["seeds"]["attributes"], data["seeds"]["profile_fields"] = [], {}

    workspace = edit_config(tmp_path / "ws", own_file)
    done = prepare.run(workspace, spark, partner="acme")
    assert (done.counts["accepted_rows"], done.counts["quarantined_rows"]) == (3, 1)
    quarantine = read_committed(spark, workspace.warehouse, SEED_QUARANTINE_TABLE, "acme")
    rows = sorted((r.profile_id, r.kind, r.original, r.reason) for r in quarantine.collect())
    assert rows == [
        ("C1", "phone", "12345", "phone_too_short"),
        ("C2", "email", "jane at example.com", "email_syntax"),
        ("C3", "address", "1 Elm St, TX, 78701", "address_incomplete"),
    ]
    rejected = sum(v for k, v in done.counts.items() if k.startswith("acme.reason."))
    assert rejected == len(rows)
    identifiers = read_committed(spark, workspace.warehouse, SEED_IDENTIFIERS_TABLE, "acme")
    assert "original" not in identifiers.columns
