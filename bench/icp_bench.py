"""Benchmark ICP analysis over ~100,000 enriched profiles and a 5-cluster lookalike over 5M.

Uses a copy of the match benchmark's workspace (1,000,000 seeds, 5,000,000-person universe):
the universe is ingested and the profiles enriched once (skipped when already done), and a
segment of the first 150,000 profile IDs (about 100,000 of them enriched) is added. Then:

1. `partnerkit icp --segment first_150k --json` as a fresh CLI (JVM start included; the
   first run also builds the partner's cluster table, timed separately);
2. a lookalike of 5 clusters from the ICP's top attributes, run twice in one Spark session:
   the second run is the warm figure.

    python bench/icp_bench.py          # needs bench/out/match-1000000x5000000 (make bench-match)
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from common import MATCH_DATA, OUT, run_measured  # noqa: E402

WORKSPACE = OUT / "icp-1000000x5000000"
SEGMENT = {
    "name": "first_150k",
    "description": "bench: the first 150,000 profile IDs",
    "predicate": "profileId < 'C000150001'",
}


def partnerkit(*args: str) -> dict:
    done = run_measured(["partnerkit", *args, "--workspace", str(WORKSPACE), "--json"])
    if done.returncode != 0:
        raise SystemExit(f"partnerkit {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    document = json.loads(done.stdout)
    document["_wall_s"], document["_peak_mb"] = done.wall_s, done.peak_mb
    return document


def prepare() -> None:
    if not WORKSPACE.exists():
        if not MATCH_DATA.exists():
            raise SystemExit(f"{MATCH_DATA} is missing: run `make bench-match` first")
        shutil.copytree(MATCH_DATA, WORKSPACE)
    config_path = WORKSPACE / "partnerkit.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["segments"] = [SEGMENT]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    if not list((WORKSPACE / "warehouse" / "partner").glob("*/batch_id=*")):
        print("ingesting the universe (once)...", flush=True)
        partnerkit("ingest")
    if not (WORKSPACE / "warehouse" / "profiles").exists():
        print("enriching the profiles (once)...", flush=True)
        partnerkit("enrich")


def forget_clusters() -> None:
    """Drop the committed clusters from the commit point, so `clusters` builds them again."""
    from jobs.warehouse.commits import COMMITS_FOLDER, CURRENT, Store, read_manifest

    warehouse = str(WORKSPACE / "warehouse")
    manifest = read_manifest(warehouse)
    kept = {u: e for u, e in manifest.tables.items() if not u.startswith("clusters/")}
    Store(warehouse).write_text(
        f"{COMMITS_FOLDER}/{CURRENT}",
        manifest.model_copy(update={"tables": kept}).model_dump_json(indent=1),
    )


def warm_lookalike(expression: str) -> tuple[float, float, int]:
    """Two lookalike runs in one session: (first s, second s, total)."""
    from jobs import lookalike
    from jobs.config import load_workspace
    from jobs.runtime.spark import SparkSettings, build_spark

    workspace = load_workspace(WORKSPACE)
    spark = build_spark(SparkSettings(app_name="icp-bench"))
    times, total = [], 0
    for _ in range(2):
        started = time.perf_counter()
        result = lookalike.run(workspace, spark, partner="acme", expression=expression)
        times.append(time.perf_counter() - started)
        total = result.counts["total"]
    spark.stop()
    return times[0], times[1], total


def main() -> None:
    prepare()
    forget_clusters()
    clusters = partnerkit("clusters", "--partner", "acme")
    icp = partnerkit("icp", "--partner", "acme", "--segment", SEGMENT["name"])
    counts = icp["counts"]
    top = [row["cluster_hash"] for row in counts["top_lift"][:5]]
    expression = f"{top[0]} AND ({top[1]} OR {top[2]}) AND {top[3]} AND NOT {top[4]}"
    cold = partnerkit("lookalike", "--partner", "acme", "--expression", expression)
    first, second, total = warm_lookalike(expression)
    print("\n| step | wall s | peak MB | what |")
    print("|---|---:|---:|---|")
    print(
        f"| clusters (cold CLI, builds the table) | {clusters['_wall_s']:.1f} | "
        f"{clusters['_peak_mb']:,.0f} | {len(clusters['clusters'])} clusters over "
        f"{clusters['universe_size']:,} persons |"
    )
    print(
        f"| icp (cold CLI) | {icp['_wall_s']:.1f} | {icp['_peak_mb']:,.0f} | "
        f"{counts['members']:,} members, {len(counts['pairs'])} pairs, "
        f"{len(counts['itemsets'])} itemsets of 3+ |"
    )
    print(f"| icp job only | {icp['seconds']:.1f} | | without JVM start |")
    print(
        f"| lookalike (cold CLI) | {cold['_wall_s']:.1f} | {cold['_peak_mb']:,.0f} | "
        f"5 clusters: {expression[:20]}... total {cold['counts']['total']:,} |"
    )
    print(f"| lookalike, first in session | {first:.1f} | | total {total:,} |")
    print(f"| lookalike, warm | {second:.1f} | | same expression again |")


if __name__ == "__main__":
    main()
