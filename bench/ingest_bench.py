"""Benchmark `partnerkit ingest` of one 5,000,000-row gzip CSV with 1% bad rows against DuckDB.

The file is built once from the match benchmark's generated universe (its parts joined into one
file, every 100th row broken: a cut hash, a value outside its set, or a repeated partner_id, in
turn). Each turn ingests the local file with the CLI (a fresh process and JVM) and then runs a
DuckDB script doing the same row checks on the same file (see `duckdb_sql` for what it does
not do), each sampled for peak resident memory; turns alternate. Then one ingest of the same
file from a moto S3 server on 127.0.0.1. Printed: every run's time, the medians and their
ratio, rows/s, peak memory, the job's own time split; the quarantine counts must equal the
rows broken.

    python bench/ingest_bench.py --repeat 3       # needs bench/out/match-1000000x5000000
    python bench/ingest_bench.py --rows 500000    # a smaller file for a quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import (  # noqa: E402
    MATCH_DATA,
    OUT,
    Measured,
    ingest_delivery,
    partnerkit_json,
    run_measured,
)

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


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def duckdb_sql(workspace: Path, delivery: Path, out: Path) -> str:
    """The row checks as DuckDB SQL, from the workspace's mapping of acme's file.

    Same checks as `partnerkit ingest`: partner ID present, hash form of every identifier
    column (hex of the declared length, `0x` and upper case tolerated), catalog value sets
    (after the partner's recoding), confidence a number in [0, 1], and a partner ID repeating
    one seen earlier among rows passing the other checks. Not done: the UTF-8 and NUL byte
    checks, malformed-row capture (DuckDB rejects or pads such rows by its own options), the
    checksum and ledger, the quality gate, the commit.
    """
    from ingest.identity.detection import HEX_LENGTHS
    from jobs.config import load_workspace
    from jobs.partner_ingest import file_mapping

    mapping = file_mapping(load_workspace(workspace).partner("acme"))
    digits = {v: k for k, v in HEX_LENGTHS.items()}[mapping.hash_type]

    def present(column: str) -> str:
        return f"({quoted(column)} IS NOT NULL AND trim({quoted(column)}) <> '')"

    def recoded(attribute: str) -> str:
        cell = quoted(mapping.sources.get(attribute, attribute))
        pairs = sorted(mapping.recode.get(attribute, {}).items())
        if not pairs:
            return cell
        whens = " ".join(f"WHEN {text(k)} THEN {text(v)}" for k, v in pairs)
        return f"(CASE {cell} {whens} ELSE {cell} END)"

    def canonical(column: str) -> str:
        return f"lower(regexp_replace(trim({quoted(column)}), '^0[xX]', ''))"

    checks = [f"CASE WHEN NOT {present(mapping.partner_id)} THEN 'partner_id_missing' END"]
    for spec in mapping.identifiers:
        form = f"regexp_full_match({canonical(spec.column)}, '[0-9a-f]{{{digits}}}')"
        checks.append(
            f"CASE WHEN {present(spec.column)} AND NOT {form} THEN 'hash_form:{spec.column}' END"
        )
    for attribute, allowed in mapping.allowed_values.items():
        values = ", ".join(text(v) for v in allowed)
        column = mapping.sources.get(attribute, attribute)
        checks.append(
            f"CASE WHEN {present(column)} AND {recoded(attribute)} NOT IN ({values}) "
            f"THEN 'value_not_allowed:{attribute}' END"
        )
    if mapping.confidence:
        number = f"TRY_CAST({quoted(mapping.confidence)} AS DOUBLE)"
        checks.append(
            f"CASE WHEN {present(mapping.confidence)} AND ({number} IS NULL OR {number} < 0 "
            f"OR {number} > 1) THEN 'confidence_not_number' END"
        )
    accepted = [f"trim({quoted(mapping.partner_id)}) AS partner_id"]
    accepted += [f"{canonical(i.column)} AS {quoted(i.column)}" for i in mapping.identifiers]
    if mapping.confidence:
        accepted.append(f"TRY_CAST({quoted(mapping.confidence)} AS DOUBLE) AS confidence")
    accepted += [f"{recoded(a)} AS {quoted(a)}" for a in mapping.attributes]
    pid = quoted(mapping.partner_id)
    return f"""
CREATE TEMP TABLE checked AS
SELECT *, list_filter([{", ".join(checks)}], lambda r: r IS NOT NULL) AS reasons
FROM (SELECT *, row_number() OVER () AS row_position
      FROM read_csv({text(str(delivery))}, header = true, all_varchar = true));
CREATE TEMP TABLE judged AS
SELECT * REPLACE (
    CASE WHEN len(reasons) = 0 AND row_position <> min(row_position) FILTER (
        WHERE len(reasons) = 0) OVER (PARTITION BY {pid})
    THEN list_append(reasons, 'duplicate_partner_id') ELSE reasons END AS reasons)
FROM checked;
COPY (SELECT {", ".join(accepted)} FROM judged WHERE len(reasons) = 0)
    TO {text(str(out / "accepted.parquet"))} (FORMAT parquet, COMPRESSION snappy);
COPY (SELECT reasons, row_position, * EXCLUDE (reasons, row_position) FROM judged
      WHERE len(reasons) > 0)
    TO {text(str(out / "quarantine.parquet"))} (FORMAT parquet, COMPRESSION snappy);
"""


def engine_duckdb(workspace: Path, delivery: Path, out: Path) -> dict[str, Any]:
    """Run the SQL above on the local file; its time and the two outputs' row counts."""
    import duckdb

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sql = duckdb_sql(workspace, delivery, out)
    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(sql)
    seconds = time.perf_counter() - started
    counts = {
        name: connection.execute(f"SELECT count(*) FROM '{out / name}.parquet'").fetchone()[0]
        for name in ("accepted", "quarantine")
    }
    return {"seconds": seconds, **counts}


def fresh_workspace(name: str) -> Path:
    workspace = OUT / name
    shutil.rmtree(workspace, ignore_errors=True)
    (workspace / "data").mkdir(parents=True)
    shutil.copy(MATCH_DATA / "partnerkit.yaml", workspace / "partnerkit.yaml")
    shutil.copy(MATCH_DATA / "data/seeds.csv", workspace / "data/seeds.csv")
    return workspace


def ingest_cli(workspace: Path, uri: str) -> tuple[Measured, dict[str, Any]]:
    """`partnerkit ingest` of one file, a fresh CLI and JVM; the measure and its batch."""
    document = partnerkit_json(workspace, "ingest", "--partner", "acme", uri)
    (batch,) = document["counts"]["batches"]
    return Measured(document["wall_s"], document["peak_mb"], "", "", 0), batch


def duckdb_run(delivery: Path) -> tuple[Measured, dict[str, Any]]:
    """The DuckDB script in its own process (sampled for memory like the CLI)."""
    out = OUT / "ingest-duckdb"
    done = run_measured(
        [sys.executable, __file__, "--engine", "duckdb", "--delivery", str(delivery)]
        + ["--out", str(out)]
    )
    if done.returncode != 0:
        sys.exit(f"duckdb failed:\n{done.stderr[-3000:]}")
    return done, json.loads(done.stdout.splitlines()[-1])


def print_phases(batch: dict[str, Any], wall: float) -> None:
    print("| phase | s |")
    print("|---|---:|")
    for phase, value in batch["seconds"].items():
        print(f"| {phase} | {value:.1f} |")
    print(f"| JVM start + listing + ledger | {wall - sum(batch['seconds'].values()):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="alternated local runs")
    parser.add_argument("--no-s3", action="store_true", help="skip the run from moto S3")
    parser.add_argument("--engine", choices=["duckdb"], help=argparse.SUPPRESS)
    parser.add_argument("--delivery", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:  # a child process: the DuckDB script alone
        print(json.dumps(engine_duckdb(MATCH_DATA, args.delivery, args.out)))
        return

    delivery = ingest_delivery(args.rows)
    marker = delivery.with_suffix(".broken")
    if not marker.exists():
        started = time.perf_counter()
        marker.write_text(str(build_file(delivery, args.rows)))
        print(f"built {delivery.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    broken = int(marker.read_text())
    size_mb = delivery.stat().st_size / 2**20

    runs: dict[str, list[Measured]] = {"partnerkit ingest, local file": [], "duckdb SQL": []}
    for turn in range(args.repeat):
        done, batch = ingest_cli(fresh_workspace(f"ingest-{args.rows}"), str(delivery))
        if batch["quarantined_rows"] != broken:
            sys.exit(f"quarantined {batch['quarantined_rows']:,}, broken {broken:,}")
        runs["partnerkit ingest, local file"].append(done)
        print(
            f"turn {turn + 1}: partnerkit {done.wall_s:.1f} s {batch['seconds']}", file=sys.stderr
        )
        duck, counts = duckdb_run(delivery)
        if counts["quarantine"] != broken:
            sys.exit(f"duckdb quarantined {counts['quarantine']:,}, broken {broken:,}")
        runs["duckdb SQL"].append(duck)
        print(f"turn {turn + 1}: duckdb {duck.wall_s:.1f} s", file=sys.stderr, flush=True)
    print(f"ingest of one {size_mb:,.0f} MiB gzip CSV, {args.rows:,} rows, 2 cores, cold processes")
    print("| engine | runs, s | median s | rows/s | peak RSS MB (max) | x DuckDB |")
    print("|---|---|---:|---:|---:|---:|")
    baseline = statistics.median(d.wall_s for d in runs["duckdb SQL"])
    for label, measured in runs.items():
        median = statistics.median(d.wall_s for d in measured)
        print(
            f"| {label} | {', '.join(f'{d.wall_s:.1f}' for d in measured)} | {median:.1f} "
            f"| {args.rows / median:,.0f} | {max(d.peak_mb for d in measured):,.0f} "
            f"| {median / baseline:.2f} |"
        )
    print()
    print_phases(batch, done.wall_s)
    if args.no_s3:
        return

    from ingest.sources import ensure_bucket, upload_files
    from jobs.runtime.local_s3 import local_s3_server

    with local_s3_server():
        ensure_bucket("partner-drops")
        (uri,) = upload_files([delivery], "partner-drops", "acme/2026-11")
        done, batch = ingest_cli(fresh_workspace(f"ingest-{args.rows}"), uri)
    print()
    print(
        f"the same file from moto S3 on 127.0.0.1 (one run): {done.wall_s:.1f} s, "
        f"{args.rows / done.wall_s:,.0f} rows/s, peak {done.peak_mb:,.0f} MB"
    )
    print_phases(batch, done.wall_s)
    if batch["quarantined_rows"] != broken:
        sys.exit("the quarantine count differs from the rows broken")


if __name__ == "__main__":
    main()
