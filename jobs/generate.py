"""The generate job: write a demo seed set, partner universe and ground truth into a workspace."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from ingest.readers import read_file
from jobs.config import PartnerConfig, Workspace
from jobs.demo.synthetic import (
    GeneratorSettings,
    build_seeds,
    build_universe,
    evaluate_matches,
    second_partner_universe,
    split_seeds,
    summarize_ground_truth,
)
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.catalogue import MATCHES_TABLE
from jobs.warehouse.tables import read_committed, write_csv_file, write_csv_folder
from schemas.attributes import load_attribute_catalog

JOB = "generate"
DEMO_PARTNER = "acme"
SEEDS_FILE = "data/seeds.csv"
GROUND_TRUTH_FILE = "data/ground_truth.csv"
UNIVERSE_FOLDER = f"data/partners/{DEMO_PARTNER}"
SECOND_PARTNER = "beta"
SECOND_FOLDER = f"data/partners/{SECOND_PARTNER}"
ROWS_PER_FILE = 1_000_000


def partitions_for(rows: int) -> int:
    """One task per ~250k rows keeps both cores busy without tiny tasks on small data."""
    return max(2, -(-rows // 250_000))


def run(workspace: Workspace, spark: SparkSession, *, settings: GeneratorSettings) -> JobResult:
    """Generate the files; the starter workspace config already points at these paths."""
    root = Path(workspace.root)
    with open_run(workspace, JOB, spark=spark) as job:
        catalog = load_attribute_catalog()
        universe = build_universe(
            spark, settings, catalog, partitions=max(1, -(-settings.universe // ROWS_PER_FILE))
        )
        write_csv_folder(universe, root / UNIVERSE_FOLDER, stem="universe", compression="gzip")
        second = second_partner_config(workspace)
        if second is not None:
            written = spark.read.options(header=True).csv(str(root / UNIVERSE_FOLDER))
            delivery = second_partner_universe(
                written, settings, catalog, domains=list(second.mapping.attributes)
            )
            write_csv_folder(
                delivery,
                Path(workspace.resolve(second.source.path)),
                stem="universe",
                compression="gzip",
            )
            job.outputs[SECOND_PARTNER] = workspace.resolve(second.source.path)
        seeds_with_truth = build_seeds(spark, settings, partitions=partitions_for(settings.seeds))
        seeds, truth = split_seeds(seeds_with_truth)
        write_csv_file(seeds, root / SEEDS_FILE)
        write_csv_file(truth, root / GROUND_TRUTH_FILE)
        job.counts.update(
            seeds=settings.seeds,
            universe=settings.universe,
            seed=settings.seed,
            **summarize_ground_truth(truth),
        )
        job.outputs.update(
            seeds=str(root / SEEDS_FILE),
            ground_truth=str(root / GROUND_TRUTH_FILE),
            universe=str(root / UNIVERSE_FOLDER),
        )
    return job.result()


def second_partner_config(workspace: Workspace) -> PartnerConfig | None:
    """The workspace's second demo partner (`beta`), if it has one."""
    return next((p for p in workspace.config.partners if p.name == SECOND_PARTNER), None)


def evaluate(workspace: Workspace, spark: SparkSession, *, partner: str = DEMO_PARTNER) -> dict:
    """Score the demo's matches against its ground truth (precision, recall)."""
    truth = read_file(spark, str(Path(workspace.root) / GROUND_TRUTH_FILE), file_format="csv")
    matches = read_committed(spark, workspace.warehouse, MATCHES_TABLE, partner)
    return evaluate_matches(matches, truth)
