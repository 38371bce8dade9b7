"""Cold `partnerkit match --prepare` against the pandas script, alternated, several times.

This machine's run-to-run noise (~10 s) is larger than the difference between the two, so one
run of `bench/match_bench.py` cannot settle which is faster. This runs them in turn on the
match benchmark's workspace (generate it with `bench/match_bench.py` first) and prints every
time and the medians.

    python bench/cold_vs_pandas.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import MATCH_DATA, OUT, run_measured  # noqa: E402
from match_bench import PARTNER  # noqa: E402

WORKSPACE = MATCH_DATA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (WORKSPACE / "partnerkit.yaml").exists():
        sys.exit(f"no workspace at {WORKSPACE}; run bench/match_bench.py first")
    cli = shutil.which("partnerkit") or "partnerkit"
    cold_command = [cli, "match", "--prepare", *PARTNER, "--workspace", str(WORKSPACE), "--json"]
    pandas_command = [
        sys.executable,
        str(Path(__file__).parent / "match_bench.py"),
        "--engine",
        "pandas",
        "--workspace",
        str(WORKSPACE),
        "--out",
        str(OUT / "matches-pandas.parquet"),
    ]
    times: dict[str, list[float]] = {"cold match --prepare": [], "pandas + hashlib": []}
    for turn in range(args.repeat):
        for label, command in zip(times, (cold_command, pandas_command), strict=True):
            done = run_measured(command)
            if done.returncode != 0:
                sys.exit(f"{label} failed:\n{done.stderr[-3000:]}")
            wall = (
                done.wall_s
                if label.startswith("cold")
                else json.loads(done.stdout.splitlines()[-1])["seconds"]
            )
            times[label].append(wall)
            print(f"turn {turn + 1}: {label} {wall:.1f} s", file=sys.stderr, flush=True)
    print("| engine | runs, s | median s |\n|---|---|---:|")
    for label, walls in times.items():
        runs = ", ".join(f"{w:.1f}" for w in walls)
        print(f"| {label} | {runs} | {statistics.median(walls):.1f} |")


if __name__ == "__main__":
    main()
