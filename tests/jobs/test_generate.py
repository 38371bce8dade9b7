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


def test_generate_run_writes_files_the_starter_config_points_at(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_starter_workspace(tmp_path, force=False)
    workspace = load_workspace(tmp_path)
    settings = GeneratorSettings(seeds=300, universe=900, seed=4)

    result = generate.run(workspace, spark, settings=settings)

    seeds_path = Path(workspace.resolve(workspace.config.seeds.source.path))
    with seeds_path.open(newline="", encoding="utf-8") as handle:
        seed_rows = list(csv.DictReader(handle))
    assert len(seed_rows) == 300
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
    assert len(universe_rows) == 900
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
    assert run.counts["seeds"] == 300


def data_digests(folder: Path) -> dict[str, str]:
    data = folder / "data"
    return {
        str(path.relative_to(data)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data.rglob("*"))
        if path.is_file()
    }


def test_generate_run_replaces_previous_files_atomically_and_is_byte_identical_per_seed(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A second run replaces the first run's files whole; the same seed gives the same bytes."""
    small, same = (
        GeneratorSettings(seeds=20, universe=40, seed=1),
        GeneratorSettings(seeds=80, universe=200, seed=9),
    )
    fresh, rerun = tmp_path / "fresh", tmp_path / "rerun"
    for folder in (fresh, rerun):
        write_starter_workspace(folder, force=False)
    generate.run(load_workspace(fresh), spark, settings=same)
    generate.run(load_workspace(rerun), spark, settings=small)
    generate.run(load_workspace(rerun), spark, settings=same)

    seeds_file = rerun / "data" / "seeds.csv"
    assert len(seeds_file.read_text(encoding="utf-8").splitlines()) == 81
    leftovers = [p.name for p in (rerun / "data").rglob("*") if ".staging-" in p.name]
    assert leftovers == []
    first = data_digests(fresh)
    assert len(first) >= 3
    assert data_digests(rerun) == first
