"""Benchmark an incremental activation against a full one: a 100k-member segment, 1% churn.

A workspace of its own (the starter configuration) with a profiles table of 400,000
profiles, a quarter of them Gold (`loyal_gold`: 100,000 members), and two pairs of
destinations exporting that segment, `sync: full` and `sync: incremental`: csv (CRMID, Email,
loyalty tier and lifetime value) and Meta's layout (hashed email and phone).
  setup   commit the profiles; one activation of each incremental destination (its first
          export, a full refresh, becomes its state); then commit a new profiles version in
          which 500 members left the segment and 500 joined (1% churn); snapshot
  timed   each a fresh CLI + JVM on a fresh copy of the snapshot, alternated: full csv,
          incremental csv, full Meta, incremental Meta
Each incremental run must report 500 adds and 500 removes, or the script stops.

    python bench/activation_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import OUT, partnerkit_cli  # noqa: E402
from common import partnerkit_json as partnerkit  # noqa: E402

PROFILES = 400_000
GOLD_EVERY = 4  # every 4th profile is Gold: 100,000 members
CHURN_EVERY = 200  # 1 in 200 Gold members leaves, as many others join: 1% churn
WORK = OUT / f"activation-{PROFILES}"
SNAPSHOT = WORK / "snapshot"
RUN = WORK / "run"
SEGMENT = ["--segment", "loyal_gold"]
CSV = {
    "type": "file",
    "format": "csv",
    "identities": ["CRMID", "Email"],
    "attributes": ["loyalty.tier", "loyalty.lifetimeValue"],
    "marketing_actions": ["onsitePersonalization"],
    "consent_field": "consents.marketing.email.val",
}
META = {
    "type": "file",
    "format": "meta_custom_audience",
    "marketing_actions": ["crossSiteTargeting"],
    "consent_field": "consents.marketing.email.val",
}
DESTINATIONS = {
    "csv_full": {**CSV, "sync": "full"},
    "csv_incremental": {**CSV, "sync": "incremental"},
    "meta_full": {**META, "sync": "full"},
    "meta_incremental": {**META, "sync": "incremental"},
}


def write_config(workspace: Path) -> None:
    import yaml

    subprocess.run([partnerkit_cli(), "init", str(workspace)], check=True, capture_output=True)
    path = workspace / "partnerkit.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["destinations"] += [
        {"name": name, "path": f"exports/{name}", "max_rows_per_file": 1_000_000, **settings}
        for name, settings in DESTINATIONS.items()
    ]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def commit_profiles(workspace: Path, churned: bool) -> None:
    """A profiles version written and committed as enrich would, in a production session."""
    from pyspark.sql import functions as F

    from jobs.cli.output import spark_session
    from jobs.config import load_workspace
    from jobs.runtime.runs import open_run
    from jobs.warehouse.tables import write_table
    from jobs.workspace_schema import profile_fields
    from schemas.registry import to_struct_type

    loaded = load_workspace(workspace)
    struct = to_struct_type(profile_fields(loaded))
    with spark_session(loaded, None) as spark:
        i = F.col("id")
        gold = i % GOLD_EVERY == 0
        if churned:  # some members leave, as many non-members join
            leaves = gold & (i % (GOLD_EVERY * CHURN_EVERY) == 0)
            joins = (i % GOLD_EVERY == 1) & (i % (GOLD_EVERY * CHURN_EVERY) == 1)
            gold = (gold & ~leaves) | joins
        profile_id = F.format_string("C%09d", i)
        email = F.format_string("user%d@example.com", i)
        document = F.to_json(
            F.struct(
                profile_id.alias("profileId"),
                F.struct(
                    F.when(gold, "Gold").otherwise("Silver").alias("tier"),
                    (i % 1000).cast("double").alias("lifetimeValue"),
                ).alias("loyalty"),
                F.struct(email.alias("address")).alias("personalEmail"),
                F.struct(F.format_string("+1201555%04d", i % 10000).alias("number")).alias(
                    "mobilePhone"
                ),
                F.struct(F.lit("US").alias("countryCode")).alias("homeAddress"),
                F.struct(
                    F.struct(F.struct(F.lit("y").alias("val")).alias("email")).alias("marketing")
                ).alias("consents"),
                F.create_map(
                    F.lit("CRMID"),
                    F.array(F.struct(profile_id.alias("id"))),
                    F.lit("Email"),
                    F.array(F.struct(email.alias("id"))),
                ).alias("identityMap"),
            )
        )
        rows = spark.range(PROFILES, numPartitions=4).select(
            F.from_json(document, struct).alias("p")
        )
        with open_run(loaded, "bench_profiles", spark=spark) as run:
            write_table(rows.select("p.*"), run, "profiles")


def restore() -> None:
    shutil.rmtree(RUN, ignore_errors=True)
    shutil.copytree(SNAPSHOT, RUN, copy_function=_link_or_copy)


def _link_or_copy(source: str, target: str) -> None:
    """Immutable files (Parquet, exports) are linked; files written in place copied."""
    if source.endswith((".sqlite", ".json", ".yaml", ".log")):
        shutil.copy2(source, target)
    else:
        Path(target).hardlink_to(source)


def in_fresh_process(churned: bool) -> None:
    flag = ["--churned"] if churned else []
    subprocess.run([sys.executable, __file__, "--profiles-only", *flag], check=True)


def setup() -> None:
    if (SNAPSHOT / ".done").exists():
        return
    shutil.rmtree(WORK, ignore_errors=True)
    write_config(RUN)
    in_fresh_process(churned=False)
    for name in DESTINATIONS:
        if name.endswith("incremental"):
            first = partnerkit(RUN, "activate", *SEGMENT, "--destination", name)
            print(f"setup {name}: {first['counts']['sync']}", file=sys.stderr)
    in_fresh_process(churned=True)
    shutil.copytree(RUN, SNAPSHOT, copy_function=_link_or_copy)
    (SNAPSHOT / ".done").touch()


def timed(destination: str) -> dict:
    restore()
    result = partnerkit(RUN, "activate", *SEGMENT, "--destination", destination)
    counts = result["counts"]
    sync = counts.get("sync")
    if sync is not None and (sync["mode"], sync["adds"], sync["removes"]) != (
        "incremental",
        500,
        500,
    ):
        sys.exit(f"{destination}: expected 500 adds and 500 removes, got {sync}")
    return {
        "wall_s": round(result["wall_s"], 1),
        "job_s": round(result["seconds"], 1),
        "peak_mb": round(result["peak_mb"]),
        "phases": counts.get("seconds"),
        "members": counts["members"],
        "exported_rows": counts["exported_rows"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profiles-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--churned", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profiles_only:
        commit_profiles(RUN, args.churned)
        return
    setup()
    runs: dict[str, list[dict]] = {name: [] for name in DESTINATIONS}
    for _ in range(args.runs):
        for name in DESTINATIONS:
            runs[name].append(timed(name))
    summary: dict[str, dict] = {}
    for name, rows in runs.items():
        full = runs[name.replace("incremental", "full")]
        summary[name] = {
            "median_wall_s": statistics.median(r["wall_s"] for r in rows),
            "median_job_s": statistics.median(r["job_s"] for r in rows),
            "wall_ratio_to_full": round(
                statistics.median(r["wall_s"] for r in rows)
                / statistics.median(r["wall_s"] for r in full),
                3,
            ),
            "job_ratio_to_full": round(
                statistics.median(r["job_s"] for r in rows)
                / statistics.median(r["job_s"] for r in full),
                3,
            ),
            "max_peak_mb": max(r["peak_mb"] for r in rows),
            "runs": rows,
        }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
