"""Benchmark `partnerkit generate` as a user runs it: wall time and peak memory of the process tree.

Runs the CLI in a subprocess (JVM start included) at a baseline size and at the target size,
samples the resident memory of the CLI and its JVM from /proc, and prints a table with the
ratios to the baseline, so the scaling is visible next to the absolute figures.

    python bench/generate_bench.py                      # 100k x 500k baseline, 1M x 5M target
    python bench/generate_bench.py --seeds 200000 --universe 1000000 --baseline-scale 0.1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import generate_command, run_measured  # noqa: E402


def run_generate(workspace: Path, seeds: int, universe: int, seed: int) -> dict[str, float]:
    command = generate_command(workspace, seeds, universe, seed)
    measured = run_measured(command)
    if measured.returncode != 0:
        sys.exit(f"generate failed ({measured.returncode}):\n{measured.stderr}")
    wall, peak = measured.wall_s, measured.peak_mb * 1024
    out = measured.stdout
    result = json.loads(out)
    data = workspace / "data"
    size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    return {
        "rows": seeds + universe,
        "wall_s": wall,
        "job_s": result["seconds"],
        "peak_mb": peak / 1024,
        "output_mb": size / 1024 / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1_000_000)
    parser.add_argument("--universe", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline-scale", type=float, default=0.1)
    parser.add_argument("--keep", type=Path, help="Keep the target workspace here.")
    args = parser.parse_args()

    sizes = {
        "baseline": (
            int(args.seeds * args.baseline_scale),
            int(args.universe * args.baseline_scale),
        ),
        "target": (args.seeds, args.universe),
    }
    figures = {}
    with tempfile.TemporaryDirectory(prefix="partnerkit-bench-") as scratch:
        for name, (seeds, universe) in sizes.items():
            workspace = args.keep if (name == "target" and args.keep) else Path(scratch) / name
            figures[name] = run_generate(workspace, seeds, universe, args.seed)
            print(f"{name}: {figures[name]}", file=sys.stderr)

    base = figures["baseline"]
    print(
        f"partnerkit generate on {os.cpu_count()} cores (CLI in a subprocess, JVM start included)"
    )
    print("| run | seeds | universe | wall s | job s | rows/s | peak RSS MB | output MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (seeds, universe) in sizes.items():
        f = figures[name]
        print(
            f"| {name} | {seeds:,} | {universe:,} | {f['wall_s']:.1f} | {f['job_s']:.1f} | "
            f"{f['rows'] / f['job_s']:,.0f} | {f['peak_mb']:,.0f} | {f['output_mb']:,.0f} |"
        )
    target = figures["target"]
    print(
        f"ratios target/baseline: rows x{target['rows'] / base['rows']:.1f}, "
        f"job time x{target['job_s'] / base['job_s']:.1f}, "
        f"peak memory x{target['peak_mb'] / base['peak_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
