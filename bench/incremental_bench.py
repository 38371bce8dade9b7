"""Benchmark an incremental match against a full one after a delta and a seed-set change.

On the match benchmark's generated data (1M seeds x 5M universe; `match_bench.py` writes it),
in a workspace of its own that links those files:
  setup      ingest acme's universe, write one generated 1% delta, `match --prepare` (the
             basis), ingest the delta; snapshot `delta`; change 1% of the seeds' emails and
             `prepare`; snapshot `both`
  timed      each a fresh CLI + JVM on a fresh copy of its snapshot, alternated:
             `match` after the delta alone, `match` after both, `match --full` after both
Every run's figures (requested, resolved, new, lost) must agree between the incremental and
the full run, or the script stops.

    python bench/incremental_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import MATCH_DATA, OUT  # noqa: E402
from common import partnerkit_json as partnerkit  # noqa: E402

WORK = OUT / "incremental-1000000x5000000"
SNAPSHOTS = WORK / "snapshots"
RUN = WORK / "run"
PARTNER = ["--partner", "acme"]
SETTINGS = {"seeds": 1_000_000, "universe": 5_000_000, "seed": 7}
CHANGED_EVERY = 100  # 1% of the seeds


def write_delta(workspace: Path) -> None:
    """The generator's first 1% delta of acme, in a fresh process with the production session."""
    script = (
        "from pathlib import Path\n"
        "from ingest.readers import read_file\n"
        "from jobs.config import load_workspace\n"
        "from jobs.demo.synthetic import GeneratorSettings\n"
        "from jobs.generate import GROUND_TRUTH_FILE, write_deltas\n"
        "from jobs.cli.output import spark_session\n"
        f"root = Path({str(workspace)!r})\n"
        "workspace = load_workspace(root)\n"
        f"settings = GeneratorSettings(**{SETTINGS!r}, deliveries=1, delta_percent=1)\n"
        "with spark_session(workspace, None) as spark:\n"
        "    truth = read_file(spark, str(root / GROUND_TRUTH_FILE), file_format='csv')\n"
        "    print(write_deltas(spark, settings, root, truth))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def change_seeds(workspace: Path) -> int:
    """Every 100th seed takes the next seed's email: 1% of the seeds change identifiers."""
    path = workspace / "data/seeds.csv"
    path.unlink()  # a link to the match benchmark's file: rewrite a copy
    shutil.copy2(MATCH_DATA / "data/seeds.csv", path)
    changed = path.with_suffix(".changed")
    count = 0
    with path.open(newline="", encoding="utf-8") as source:
        with changed.open("w", newline="", encoding="utf-8") as target:
            reader, writer = csv.reader(source), csv.writer(target)
            header = next(reader)
            writer.writerow(header)
            email = header.index("email")
            previous = next(reader)
            for index, row in enumerate(reader):
                if index % CHANGED_EVERY == 0 and previous[email] != row[email]:
                    previous[email], count = row[email], count + 1
                writer.writerow(previous)
                previous = row
            writer.writerow(previous)
    changed.replace(path)
    return count


def snapshot(name: str) -> None:
    target = SNAPSHOTS / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(RUN, target, copy_function=_link_or_copy, ignore=_skip_logs)


def restore(name: str) -> None:
    shutil.rmtree(RUN, ignore_errors=True)
    shutil.copytree(SNAPSHOTS / name, RUN, copy_function=_link_or_copy)


def _link_or_copy(source: str, target: str) -> None:
    """Immutable files (Parquet, delivered CSVs) are linked; files written in place copied."""
    if source.endswith((".sqlite", ".json", ".yaml", ".log")):
        shutil.copy2(source, target)
    else:
        Path(target).hardlink_to(source)


def _skip_logs(folder: str, names: list[str]) -> list[str]:
    return ["logs"] if Path(folder) == RUN else []


def setup() -> None:
    """Each step once (a marker per step), so an interrupted setup resumes."""
    if (SNAPSHOTS / ".done").exists():
        return
    if not (RUN / "partnerkit.yaml").exists():
        RUN.mkdir(parents=True, exist_ok=True)
        for name in ("partnerkit.yaml", "partnerkit.schema.json"):
            shutil.copy2(MATCH_DATA / name, RUN / name)
        shutil.copytree(MATCH_DATA / "data", RUN / "data", copy_function=_link_or_copy)
    delta = str(RUN / "data/deltas/acme/delta-001")
    steps = [
        ("ingest", lambda: partnerkit(RUN, "ingest", *PARTNER)),
        ("delta", lambda: write_delta(RUN)),
        ("match", lambda: partnerkit(RUN, "match", "--prepare", *PARTNER)),
        ("ingest_delta", lambda: partnerkit(RUN, "ingest", *PARTNER, "--kind", "delta", delta)),
        ("snapshot_delta", lambda: snapshot("delta")),
        ("seeds", lambda: change_seeds(RUN)),
        ("prepare", lambda: partnerkit(RUN, "prepare", *PARTNER)),
        ("snapshot_both", lambda: snapshot("both")),
    ]
    for name, step in steps:
        marker = WORK / f".{name}"
        if not marker.exists():
            done = step()
            seconds = done.get("wall_s") if isinstance(done, dict) else done
            print(f"setup {name}: {seconds}", file=sys.stderr)
            marker.touch()
    (SNAPSHOTS / ".done").touch()


FIGURES = ("requested", "resolved", "new", "lost")


def timed(name: str, *extra: str) -> dict:
    restore(name)
    result = partnerkit(RUN, "match", *PARTNER, *extra)
    stats = result["counts"]["acme"]
    return {
        "wall_s": round(result["wall_s"], 1),
        "peak_mb": round(result["peak_mb"]),
        "mode": stats["mode"],
        "seconds": stats.get("seconds"),
        "figures": {k: stats[k] for k in FIGURES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not (MATCH_DATA / "data/seeds.csv").exists():
        sys.exit(f"{MATCH_DATA} is missing: run `python bench/match_bench.py` first")
    setup()
    runs: dict[str, list[dict]] = {"delta": [], "both": [], "full": []}
    for _ in range(args.runs):
        runs["delta"].append(timed("delta"))
        runs["both"].append(timed("both"))
        runs["full"].append(timed("both", "--full"))
        if runs["both"][-1]["figures"] != runs["full"][-1]["figures"]:
            sys.exit(f"incremental and full disagree: {runs['both'][-1]} {runs['full'][-1]}")
    full = statistics.median(r["wall_s"] for r in runs["full"])
    summary = {
        name: {
            "median_wall_s": statistics.median(r["wall_s"] for r in rows),
            "ratio_to_full": round(statistics.median(r["wall_s"] for r in rows) / full, 3),
            "max_peak_mb": max(r["peak_mb"] for r in rows),
            "runs": rows,
        }
        for name, rows in runs.items()
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
