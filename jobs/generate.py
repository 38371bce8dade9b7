"""The generate job: write a demo seed set, partner universe and ground truth into a workspace."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.readers import read_file
from jobs.config import PartnerConfig, Workspace
from jobs.demo.synthetic import (
    FATES,
    GeneratorSettings,
    build_delta,
    build_seeds,
    build_universe,
    evaluate_matches,
    optout_rows,
    second_partner_universe,
    split_seeds,
    summarize_ground_truth,
    truth_after,
)
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.catalogue import MATCHES_TABLE
from jobs.warehouse.paths import remove
from jobs.warehouse.tables import read_committed, write_csv_file, write_csv_folder
from schemas.attributes import load_attribute_catalog

JOB = "generate"
DEMO_PARTNER = "acme"
SEEDS_FILE = "data/seeds.csv"
GROUND_TRUTH_FILE = "data/ground_truth.csv"
UNIVERSE_FOLDER = f"data/partners/{DEMO_PARTNER}"
SECOND_PARTNER = "beta"
SECOND_FOLDER = f"data/partners/{SECOND_PARTNER}"
DELTAS_FOLDER = f"data/deltas/{DEMO_PARTNER}"
# The demo partner's opt-out delivery (the workspace's `optouts` feed reads this folder).
OPTOUTS_FILE = f"data/optouts/{DEMO_PARTNER}/optouts-001.csv"
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
        written = spark.read.options(header=True).csv(str(root / UNIVERSE_FOLDER))
        second = second_partner_config(workspace)
        if second is not None:
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
        write_csv_file(optout_rows(truth, written), root / OPTOUTS_FILE)
        job.outputs["optouts"] = str(root / OPTOUTS_FILE)
        if settings.deliveries:
            job.counts["deltas"] = write_deltas(spark, settings, root, truth)
            job.outputs["deltas"] = str(root / DELTAS_FOLDER)
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


def delta_folder(number: int) -> str:
    return f"{DELTAS_FOLDER}/delta-{number:03d}"


def delta_truth_file(number: int) -> str:
    """The answer key after delta `number` (a deleted person is no longer findable)."""
    return f"{DELTAS_FOLDER}/ground_truth-{number:03d}.csv"


def write_deltas(
    spark: SparkSession, settings: GeneratorSettings, root: Path, truth: DataFrame
) -> list[dict[str, int]]:
    """Partner acme's deltas after its first delivery, each in its own folder, and the answer
    key as of each; returns the operations per delta."""
    catalog = load_attribute_catalog()
    remove(root / DELTAS_FOLDER, [root])  # a rerun writes the set anew
    written = []
    for number in range(1, settings.deliveries + 1):
        folder = root / delta_folder(number)
        partitions = max(1, -(-settings.universe // ROWS_PER_FILE))
        delta = build_delta(spark, settings, catalog, number, partitions=partitions)
        # One file per million changes: ingest checks each file on its own, ~4 s apiece.
        files = max(1, -(-settings.universe * settings.delta_band // FATES // ROWS_PER_FILE))
        write_csv_folder(delta.coalesce(files), folder, stem="changes", compression="gzip")
        after = truth_after(truth, settings, number)
        write_csv_file(after, root / delta_truth_file(number))
        read = spark.read.options(header=True).csv(str(folder))
        operations = {
            row["operation"]: row["count"] for row in read.groupBy("operation").count().collect()
        }
        new = read.where(F.col("person_id").startswith("N")).count()
        written.append(
            {
                "delta": number,
                "deletes": int(operations.get("delete", 0)),
                "changed": int(operations.get("upsert", 0)) - new,
                "new": new,
            }
        )
    return written


def second_partner_config(workspace: Workspace) -> PartnerConfig | None:
    """The workspace's second demo partner (`beta`), if it has one."""
    return next((p for p in workspace.config.partners if p.name == SECOND_PARTNER), None)


def evaluate(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: str = DEMO_PARTNER,
    truth_file: str = GROUND_TRUTH_FILE,
) -> dict:
    """Score the demo's matches against an answer key (precision, recall)."""
    truth = read_file(spark, str(Path(workspace.root) / truth_file), file_format="csv")
    matches = read_committed(spark, workspace.warehouse, MATCHES_TABLE, partner)
    return evaluate_matches(matches, truth)
