"""What the ingest benchmark cannot go below on this machine: each unavoidable step alone.

On the file `bench/ingest_bench.py` builds (run that first), times: the download from a moto
S3 server on 127.0.0.1 (boto3, 64 MiB parts), the SHA-256 + ETag + gunzip pass over the
downloaded file, both streamed together as `partnerkit ingest` stages them, a local Spark
session, and Spark parsing every column of the plain CSV into a `noop` sink (cold, then
warm). No row check, Parquet write or quality gate is included.

    python bench/ingest_floors.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import ingest_delivery  # noqa: E402

DELIVERY = ingest_delivery(5_000_000)


def timed(label: str, started: float) -> float:
    seconds = time.perf_counter() - started
    print(f"| {label} | {seconds:.1f} |", flush=True)
    return seconds


def main() -> None:
    from ingest.partner_files import read_rows
    from ingest.sources import (
        download_config,
        ensure_bucket,
        list_s3,
        read_delivery,
        s3_client,
        split_s3_uri,
        stage_s3_object,
        upload_files,
    )
    from jobs.runtime.local_s3 import local_s3_server
    from jobs.runtime.spark import SparkSettings, build_spark

    if not DELIVERY.exists():
        raise SystemExit(f"{DELIVERY} is missing; run bench/ingest_bench.py first")
    scratch = Path(tempfile.mkdtemp(prefix="ingest-floors-"))
    print(f"floors for one {DELIVERY.stat().st_size / 2**20:,.0f} MiB gzip CSV, 2 cores")
    print("| step | s |\n|---|---:|")
    try:
        with local_s3_server():
            ensure_bucket("partner-drops")
            (uri,) = upload_files([DELIVERY], "partner-drops", "acme/floors")
            (source,) = list_s3(uri)
            downloaded = scratch / "downloaded.csv.gz"
            started = time.perf_counter()
            s3_client().download_file(*split_s3_uri(uri), str(downloaded), Config=download_config())
            timed("download from moto alone", started)
            started = time.perf_counter()
            copy = read_delivery(downloaded, uri=uri, unpack_to=scratch / "unpacked")
            timed("SHA-256 + ETag + gunzip of the downloaded file alone", started)
            started = time.perf_counter()
            stage_s3_object(source, scratch / "staged")
            timed("both, streamed (what ingest's stage phase does)", started)
        started = time.perf_counter()
        spark = build_spark(SparkSettings())
        timed("local Spark session", started)
        for run in ("cold", "warm"):
            started = time.perf_counter()
            rows = read_rows(spark, str(copy.path), file_format="csv")
            rows.write.format("noop").mode("overwrite").save()
            timed(f"parse every column into a noop sink, {run}", started)
        spark.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
