"""The generate job writes a usable workspace: files, exact counts, whitespace, a ledger run."""

from __future__ import annotations

import csv
import gzip
import hashlib
from pathlib import Path

from pyspark.sql import SparkSession

from ingest.ledger import Ledger
from jobs import generate
from jobs.config import load_workspace, write_starter_workspace
from jobs.demo.synthetic import GROUND_TRUTH_COLUMNS, SEED_COLUMNS, GeneratorSettings
from schemas.attributes import load_attribute_catalog
from tests.conftest import GENERATED, GeneratedRun


def test_generate_run_writes_files_the_starter_config_points_at(
    generated_run: GeneratedRun,
) -> None:
    """The session's generated workspace: a starter config, then `generate` with GENERATED."""
    workspace, result = load_workspace(generated_run.root), generated_run.result

    seeds_path = Path(workspace.resolve(workspace.config.seeds.source.path))
    with seeds_path.open(newline="", encoding="utf-8") as handle:
        seed_rows = list(csv.DictReader(handle))
    assert len(seed_rows) == GENERATED.seeds
    assert list(seed_rows[0]) == list(SEED_COLUMNS)
    # Spark trims CSV values unless told not to; the messy whitespace must survive the write.
    assert any(row["email"] != row["email"].strip() for row in seed_rows)

    universe_dir = Path(workspace.resolve(workspace.config.partners[0].source.path))
    parts = sorted(universe_dir.glob("universe-*.csv.gz"))
    assert parts and not list(universe_dir.glob("_SUCCESS"))
    universe_rows = []
    for part in parts:
        with gzip.open(part, "rt", encoding="utf-8", newline="") as handle:
            universe_rows.extend(csv.DictReader(handle))
    assert len(universe_rows) == GENERATED.universe
    mapping = workspace.config.partners[0].mapping
    expected_columns = {mapping.partner_id, mapping.confidence}
    expected_columns |= {identifier.column for identifier in mapping.identifiers}
    expected_columns |= {name for names in mapping.attributes.values() for name in names}
    assert expected_columns <= set(universe_rows[0])
    assert {a.name for _, a in load_attribute_catalog().attributes()} <= set(universe_rows[0])

    truth_path = Path(result.outputs["ground_truth"])
    with truth_path.open(newline="", encoding="utf-8") as handle:
        truth_rows = list(csv.DictReader(handle))
    assert list(truth_rows[0]) == list(GROUND_TRUTH_COLUMNS)
    assert result.counts["in_universe"] == sum(1 for row in truth_rows if row["person_id"])

    (run,) = Ledger(workspace.ledger_path).runs()
    assert (run.job, run.status, run.workflow_id) == ("generate", "succeeded", result.workflow_id)
    assert run.counts["seeds"] == GENERATED.seeds


def data_digests(folder: Path) -> dict[str, str]:
    data = folder / "data"
    return {
        str(path.relative_to(data)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data.rglob("*"))
        if path.is_file()
    }


def test_generate_run_replaces_previous_files_atomically_and_is_byte_identical_per_seed(
    spark: SparkSession, tmp_path: Path, generated_workspace: Path
) -> None:
    """A second run replaces the first run's files whole; the same seed gives the same bytes
    (as the session's generated workspace, made with GENERATED in another folder)."""
    rerun = tmp_path / "rerun"
    write_starter_workspace(rerun, force=False)
    generate.run(load_workspace(rerun), spark, settings=GeneratorSettings(seeds=20, universe=40))
    generate.run(load_workspace(rerun), spark, settings=GENERATED)

    seeds_file = rerun / "data" / "seeds.csv"
    assert len(seeds_file.read_text(encoding="utf-8").splitlines()) == GENERATED.seeds + 1
    leftovers = [p.name for p in (rerun / "data").rglob("*") if ".staging-" in p.name]
    assert leftovers == []
    first = data_digests(generated_workspace)
    assert len(first) >= 3
    assert data_digests(rerun) == first
