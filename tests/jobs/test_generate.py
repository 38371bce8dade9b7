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


def test_generate_run_replaces_previous_files_atomically(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_starter_workspace(tmp_path, force=False)
    workspace = load_workspace(tmp_path)
    generate.run(workspace, spark, settings=GeneratorSettings(seeds=50, universe=100, seed=1))
    generate.run(workspace, spark, settings=GeneratorSettings(seeds=20, universe=40, seed=1))
    seeds_file = tmp_path / "data" / "seeds.csv"
    assert len(seeds_file.read_text(encoding="utf-8").splitlines()) == 21
    leftovers = [p.name for p in (tmp_path / "data").rglob("*") if ".staging-" in p.name]
    assert leftovers == []


def test_generate_run_is_byte_identical_for_the_same_seed(
    spark: SparkSession, tmp_path: Path
) -> None:
    def digests(folder: Path) -> dict[str, str]:
        write_starter_workspace(folder, force=False)
        workspace = load_workspace(folder)
        generate.run(workspace, spark, settings=GeneratorSettings(seeds=80, universe=200, seed=9))
        data = folder / "data"
        return {
            str(path.relative_to(data)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(data.rglob("*"))
            if path.is_file()
        }

    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert len(first) >= 3
    assert first == second
