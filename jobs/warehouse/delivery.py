"""Writing an activation's files: split at a row limit, checksummed, manifest last, S3 upload.

Readers take an export only when its `manifest.json` exists. Locally the files are written in
a hidden staging folder that is renamed into place with the manifest already inside; on S3
they are uploaded under `_staging/`, copied to the final prefix, and the manifest goes last.
A killed export therefore leaves no manifest and no visible partial files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from ingest.sources import s3_client, split_s3_uri
from jobs.warehouse.paths import remove
from jobs.warehouse.tables import CSV_WRITE_OPTIONS

MANIFEST = "manifest.json"
SUFFIXES = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}

# Recorded in the ledger by activate just before an export is published: where its manifest
# will be. A run that died after it is found exported or not by looking there; erasure finds
# the exports that held a person from these events.
EXPORT_EVENT = "export_target"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows_in(path: Path, file_format: str) -> int:
    if file_format == "parquet":
        import pyarrow.parquet as pq  # only for Parquet exports: pyarrow costs every CLI 0.2 s

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    return lines - 1 if file_format == "csv" else lines


def write_files(
    rows: DataFrame,
    folder: Path,
    *,
    file_format: str,
    max_rows_per_file: int,
    stem: str = "part",
) -> list[dict[str, Any]]:
    """Write `<stem>-00000.<ext>`... of at most max rows each; report name, rows, bytes,
    sha256 (none when there are no rows)."""
    spark_format = "json" if file_format == "jsonl" else file_format
    scratch = folder / f"_spark-{stem}"
    writer = rows.write.option("maxRecordsPerFile", max_rows_per_file)
    if file_format == "csv":
        writer = writer.options(header=True, **CSV_WRITE_OPTIONS)
    if file_format == "jsonl":
        writer = writer.option("ignoreNullFields", True)
    writer.format(spark_format).save(str(scratch))
    files = []
    parts = sorted(p for p in scratch.iterdir() if p.name.startswith("part-"))
    for part in parts:
        rows_in_part = _rows_in(part, file_format)
        if rows_in_part == 0:
            continue
        target = folder / f"{stem}-{len(files):05d}.{SUFFIXES[file_format]}"
        part.rename(target)
        files.append(
            {
                "name": target.name,
                "rows": rows_in_part,
                "bytes": target.stat().st_size,
                "sha256": file_sha256(target),
            }
        )
    remove(scratch, [scratch.parent])
    return files


def manifest_published(location: str) -> bool:
    """Whether an export's manifest (a local path or an s3:// URI) is still there."""
    if not location:
        return False
    if not location.startswith("s3://"):
        return Path(location).is_file()
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(location)
    try:
        s3_client().head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def publish_local(staging: Path, target: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest into the staging folder, then rename the folder into place."""
    (staging / MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)
    return target / MANIFEST


def s3_staging_uri(staging: Path, uri: str) -> str:
    """Where `publish_s3` uploads a staging folder's files before copying them to `uri`."""
    return f"{uri.rstrip('/')}/_staging/{staging.name}/"


def remove_unpublished_s3_export(uri: str) -> int:
    """Delete every object under the prefix `uri` unless it holds a published export (its
    manifest); returns how many were deleted. A killed upload leaves plaintext files here."""
    bucket, prefix = split_s3_uri(uri.rstrip("/") + "/")
    client = s3_client()
    keys = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    if prefix + MANIFEST in keys:
        return 0
    for start in range(0, len(keys), 1000):
        chunk = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
    return len(keys)


def publish_s3(staging: Path, uri: str, manifest: dict[str, Any]) -> str:
    """Upload the files under `_staging/`, copy them to `uri`, then write the manifest last."""
    bucket, prefix = split_s3_uri(uri.rstrip("/") + "/")
    client = s3_client()
    temporary = split_s3_uri(s3_staging_uri(staging, uri))[1]
    names = sorted(p.name for p in staging.iterdir() if p.is_file())
    for name in names:
        client.upload_file(str(staging / name), bucket, temporary + name)  # multipart when large
    for name in names:
        client.copy({"Bucket": bucket, "Key": temporary + name}, bucket, prefix + name)
        client.delete_object(Bucket=bucket, Key=temporary + name)
    body = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    client.put_object(Bucket=bucket, Key=prefix + MANIFEST, Body=body)
    remove(staging, [staging.parent])
    return f"s3://{bucket}/{prefix}{MANIFEST}"
