"""Benchmark `partnerkit ingest` of one 5,000,000-row gzip CSV with 1% bad rows, from S3.

The file is built once from the match benchmark's generated universe (its parts joined into one
file, every 100th row broken: a cut hash, a value outside its set, or a repeated partner_id, in
turn), uploaded to a moto S3 server on 127.0.0.1, and ingested by the CLI (a fresh JVM) from
s3://. Printed: rows/s, the job's own time split, peak memory of the CLI and its JVM, and the
quarantine count next to the number of rows broken (they must be equal).

    python bench/ingest_bench.py                  # needs bench/out/match-1000000x5000000
    python bench/ingest_bench.py --rows 500000    # a smaller file for a quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import MATCH_DATA, OUT, ingest_delivery, run_measured  # noqa: E402

BAD_EVERY = 100


def break_row(cells: list[str], header: list[str], turn: int, previous_id: str) -> list[str]:
    """One bad row of three kinds in turn; each fails exactly one row check."""
    if turn % 3 == 0:
        index = header.index("email1")
        cells[index] = cells[index][:40]  # sha256 cut to the length of a sha1
    elif turn % 3 == 1:
        cells[header.index("gender")] = "Robot"  # outside the attribute's value set
    else:
        cells[header.index("person_id")] = previous_id  # repeats the row before it
    return cells


def build_file(target: Path, rows: int) -> int:
    """Join the generated parts into one gzip CSV of `rows` rows; return the rows broken."""
    parts = sorted((MATCH_DATA / "data/partners/acme").glob("*.csv.gz"))
    if not parts:
        sys.exit(f"no universe under {MATCH_DATA}; run bench/match_bench.py first")
    broken = written = 0
    header: list[str] = []
    previous_id = ""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip container, fast level
    with target.open("wb") as out:
        for part in parts:
            with gzip.open(part, "rt", encoding="utf-8", newline="") as handle:
                first = handle.readline()
                if not header:
                    header = first.rstrip("\r\n").split(",")
                    out.write(compressor.compress(first.encode()))
                for line in handle:
                    if written == rows:
                        break
                    cells = line.rstrip("\r\n").split(",")
                    if written % BAD_EVERY == BAD_EVERY - 1:
                        cells = break_row(cells, header, broken, previous_id)
                        broken += 1
                    previous_id = cells[0]
                    out.write(compressor.compress((",".join(cells) + "\n").encode()))
                    written += 1
        out.write(compressor.flush())
    if written < rows:
        sys.exit(f"the generated universe has only {written} rows")
    return broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    args = parser.parse_args()

    delivery = ingest_delivery(args.rows)
    marker = delivery.with_suffix(".broken")
    if not marker.exists():
        started = time.perf_counter()
        marker.write_text(str(build_file(delivery, args.rows)))
        print(f"built {delivery.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    broken = int(marker.read_text())

    workspace = OUT / f"ingest-{args.rows}"
    shutil.rmtree(workspace, ignore_errors=True)
    (workspace / "data").mkdir(parents=True)
    shutil.copy(MATCH_DATA / "partnerkit.yaml", workspace / "partnerkit.yaml")
    shutil.copy(MATCH_DATA / "data/seeds.csv", workspace / "data/seeds.csv")

    from ingest.sources import ensure_bucket, upload_files
    from jobs.runtime.local_s3 import local_s3_server

    with local_s3_server():
        ensure_bucket("partner-drops")
        started = time.perf_counter()
        (uri,) = upload_files([delivery], "partner-drops", "acme/2026-11")
        print(f"uploaded to moto in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        cli = shutil.which("partnerkit") or "partnerkit"
        done = run_measured(
            [cli, "ingest", "--workspace", str(workspace), "--partner", "acme", uri, "--json"]
        )
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    (batch,) = json.loads(done.stdout)["counts"]["batches"]
    seconds = batch["seconds"]
    print(
        f"ingest of one {delivery.stat().st_size / 2**20:,.0f} MiB gzip CSV from moto S3, "
        f"{args.rows:,} rows, 2 cores, cold CLI"
    )
    print("| wall s | rows/s | peak RSS MB | input | accepted | quarantined | rows broken |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {done.wall_s:.1f} | {args.rows / done.wall_s:,.0f} | {done.peak_mb:,.0f} "
        f"| {batch['input_rows']:,} | {batch['accepted_rows']:,} "
        f"| {batch['quarantined_rows']:,} | {broken:,} |"
    )
    print()
    print("| phase | s |")
    print("|---|---:|")
    for phase, value in seconds.items():
        print(f"| {phase} | {value:.1f} |")
    print(f"| JVM start + listing + ledger | {done.wall_s - sum(seconds.values()):.1f} |")
    if batch["quarantined_rows"] != broken:
        sys.exit("the quarantine count differs from the rows broken")


if __name__ == "__main__":
    main()
