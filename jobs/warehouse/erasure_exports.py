"""Past exports that held people being forgotten, found from the export manifests the ledger
records, and removal files for the ad platforms (which accept lists of members to remove).

An export's rows are matched on what identifies a member in its layout: `profileId` in a
segment export of the generic layouts, the partner namespace's column in a prospect export,
the hashed email and phone of an ad-platform layout (computed from the person's profile the
way the export computed them). Exports whose manifest is gone are skipped; exports that
cannot be read (an S3 destination out of reach, a destination removed from the workspace)
are listed as unchecked, with the reason.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from functools import reduce
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.audiences.exports import AD_PLATFORM_LAYOUTS, CONTACT_KEYS, ad_platform_rows
from ingest.enrichment.profiles import PROFILE_ID_FIELD
from ingest.identity.profiles import get_profile
from ingest.ledger import Ledger
from ingest.sources import s3_client, split_s3_uri
from jobs.config import DestinationConfig, Workspace
from jobs.runtime.runs import RunContext, describe_failure
from jobs.warehouse.catalogue import PROFILES_TABLE, PROSPECTS_TABLE
from jobs.warehouse.delivery import EXPORT_EVENT, manifest_published
from jobs.warehouse.paths import remove
from jobs.warehouse.tables import committed_table

ACTIVATE_JOB = "activate"


def _read_text(location: str) -> str:
    if location.startswith("s3://"):
        bucket, key = split_s3_uri(location)
        return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    return Path(location).read_text(encoding="utf-8")


def _local_files(location: str, names: list[str], scratch: Path) -> list[str]:
    """The export's files as local paths (S3 objects copied into `scratch`)."""
    prefix = location.rsplit("/", 1)[0]
    if not prefix.startswith("s3://"):
        return [f"{prefix}/{name}" for name in names]
    scratch.mkdir(parents=True, exist_ok=True)
    bucket, key = split_s3_uri(prefix)
    for name in names:
        s3_client().download_file(bucket, f"{key}/{name}", str(scratch / name))
    return [str(scratch / name) for name in names]


def _read_export(spark: SparkSession, paths: list[str], file_format: str) -> DataFrame:
    if file_format == "parquet":
        return spark.read.parquet(*paths)
    if file_format == "jsonl":
        return spark.read.json(paths)
    return spark.read.options(header=True, inferSchema=False).csv(paths)


def _theirs(
    workspace: Workspace,
    destination: DestinationConfig,
    segment: str,
    profiles: DataFrame | None,
    exported: DataFrame,
    persons: set[str],
) -> Column | None:
    """The rows of an export that belong to the people (None: nothing identifies them)."""
    if segment.startswith(f"{PROSPECTS_TABLE}/"):
        columns = [c for c in destination.identities if c in exported.columns]
        found = [F.col(f"`{c}`").isin(*sorted(persons)) for c in columns] if persons else []
    elif destination.format in AD_PLATFORM_LAYOUTS:
        if profiles is None:
            return None
        profile_name, layout = AD_PLATFORM_LAYOUTS[destination.format]
        rows = ad_platform_rows(
            profiles,
            layout=destination.format,
            profile=get_profile(profile_name),
            default_country=workspace.config.seeds.default_country,
            match_keys=destination.match_keys,
        ).collect()
        found = []
        for column, kind in layout.items():
            values = {r[column] for r in rows if column in r and r[column]}
            if kind in CONTACT_KEYS and values and column in exported.columns:
                found.append(F.col(f"`{column}`").isin(*sorted(values)))
    else:
        ids = {r[PROFILE_ID_FIELD] for r in profiles.collect()} if profiles is not None else set()
        exported_ids = PROFILE_ID_FIELD in exported.columns
        found = [F.col(PROFILE_ID_FIELD).isin(*sorted(ids))] if exported_ids and ids else []
    if not found:
        return None
    return reduce(lambda a, b: a | b, [F.coalesce(f, F.lit(False)) for f in found])


def write_csv(target: Path, rows: DataFrame) -> None:
    """A removal file: the rows as the export held them (hashed identifiers only)."""
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows.columns)
        writer.writerows(tuple(r) for r in rows.collect())


def export_events(ledger: Ledger) -> Iterator[dict[str, Any]]:
    """The `export_target` payload of every activation the ledger holds, newest first."""
    for run in ledger.runs(job=ACTIVATE_JOB, limit=100_000):
        for event in ledger.events(run.workflow_id):
            if event["kind"] == EXPORT_EVENT:
                yield event["payload"]


def rows_held(
    workspace: Workspace,
    spark: SparkSession,
    payload: dict[str, Any],
    scratch: Path,
    profiles: DataFrame | None,
    persons: frozenset[str],
) -> tuple[DestinationConfig, DataFrame] | None:
    """The export's rows that belong to the people (None: the export is gone or empty, or
    nothing in its layout identifies them)."""
    if not manifest_published(payload["manifest"]):
        return None
    manifest = json.loads(_read_text(payload["manifest"]))
    destination = workspace.destination(payload["destination"])
    names = [f["name"] for f in manifest.get("files", [])]
    if not names:
        return None
    paths = _local_files(payload["manifest"], names, scratch)
    exported = _read_export(spark, paths, manifest.get("format", "csv"))
    theirs = _theirs(workspace, destination, payload["segment"], profiles, exported, set(persons))
    return None if theirs is None else (destination, exported.where(theirs))


def removal_file(folder: Path, payload: dict[str, Any], rows: DataFrame, layout: str) -> Path:
    """The rows' match keys (hashed email and phone) in the platform's columns, to upload as
    members to remove; names, postal codes and countries are left out."""
    _, columns = AD_PLATFORM_LAYOUTS[layout]
    keys = [c for c, kind in columns.items() if kind in CONTACT_KEYS and c in rows.columns]
    target = folder / f"{payload['destination']}--{payload['export_id']}--remove.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_csv(target, rows.select(*[F.col(f"`{c}`") for c in keys]))
    return target


def removal_folder(workspace: Workspace, workflow_id: str) -> Path:
    """Where a forget run writes the files that remove its people from ad platforms."""
    return workspace.reports_dir / "forget" / workflow_id


def past_exports(
    workspace: Workspace,
    spark: SparkSession,
    job: RunContext,
    profile_ids: frozenset[str],
    persons: frozenset[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(exports that held them, exports that could not be checked, removal files written)."""
    profiles = committed_table(spark, workspace.warehouse, PROFILES_TABLE)
    theirs_profiles = (
        profiles.where(F.col(PROFILE_ID_FIELD).isin(*sorted(profile_ids))).cache()
        if profiles is not None and profile_ids
        else None
    )
    held, unchecked, removals = [], [], []
    for payload in export_events(Ledger(workspace.ledger_path)):
        export = {k: payload.get(k) for k in ("destination", "segment", "export_id", "manifest")}
        scratch = Path(
            job.claim(Path(workspace.warehouse) / ".staging" / f"forget-{uuid.uuid4().hex[:8]}")
        )
        try:
            found = rows_held(workspace, spark, payload, scratch, theirs_profiles, persons)
            if found is None:
                continue
            destination, rows = found
            rows = rows.cache()
            count = rows.count()
            if count:
                held.append({**export, "rows": count})
            if count and destination.format in AD_PLATFORM_LAYOUTS:
                target = removal_file(
                    removal_folder(workspace, job.workflow_id),
                    payload,
                    rows,
                    destination.format,
                )
                removals.append(
                    {"destination": destination.name, "file": str(target), "rows": count}
                )
            rows.unpersist()
        except Exception as error:  # one export out of reach does not stop the erasure
            unchecked.append({**export, "reason": describe_failure(error)})
        finally:
            remove(scratch, [scratch.parent])
    if theirs_profiles is not None:
        theirs_profiles.unpersist()
    return held, unchecked, removals
