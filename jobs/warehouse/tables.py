"""Table writes into a run's commit, committed reads, and files replaced atomically."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from ingest.ledger import Ledger
from jobs.config import check_name
from jobs.errors import WorkspaceError
from jobs.runtime.run_events import DatasetNote, schema_fields
from jobs.runtime.runs import RunContext, current_run, fault_point
from jobs.warehouse.catalogue import PROFILES_TABLE, PROSPECTS_TABLE
from jobs.warehouse.commits import committed_uris, read_manifest, unit_name
from jobs.warehouse.paths import remove

# Spark's CSV writer trims values by default; delivered files must keep them byte for byte.
CSV_WRITE_OPTIONS = {
    "ignoreLeadingWhiteSpace": False,
    "ignoreTrailingWhiteSpace": False,
    "emptyValue": "",
}


def _staging_path(target: Path) -> Path:
    """A hidden sibling to write into; claimed by the current run, so a kill cannot strand it."""
    staged = target.with_name(f".{target.name}.staging-{uuid.uuid4().hex[:12]}")
    run = current_run()
    if run is not None:
        run.claim(staged)
    return staged


def _spark_parts(folder: Path) -> list[Path]:
    """Spark's data files in a written folder, in partition order."""
    return sorted(p for p in folder.iterdir() if p.name.startswith("part-"))


def replace_path(staged: Path, target: Path) -> None:
    """Swap a staged file or folder into place, removing what was there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not target.is_symlink():
        retired = _staging_path(target)
        target.rename(retired)
        staged.rename(target)
        remove(retired, [target.parent])
    else:
        staged.replace(target)


def write_csv_folder(
    frame: DataFrame, target: str | Path, *, stem: str, compression: str | None = None
) -> list[Path]:
    """Write CSV part files with headers as `<stem>-00000.csv[.gz]`, like a partner delivery."""
    target = Path(target)
    staged = _staging_path(target)
    writer = frame.write.options(header=True, **CSV_WRITE_OPTIONS)
    if compression:
        writer = writer.option("compression", compression)
    writer.csv(str(staged))
    suffix = ".csv.gz" if compression == "gzip" else ".csv"
    for number, part in enumerate(_spark_parts(staged)):
        part.rename(staged / f"{stem}-{number:05d}{suffix}")
    for leftover in staged.iterdir():
        if not leftover.name.startswith(stem):
            remove(leftover, [staged])
    replace_path(staged, target)
    return sorted(target.iterdir())


def write_csv_file(frame: DataFrame, target: str | Path) -> Path:
    """Write one CSV file with a header, from parts written in parallel and joined in order."""
    target = Path(target)
    staged_parts = _staging_path(target)
    frame.write.options(header=False, **CSV_WRITE_OPTIONS).csv(str(staged_parts))
    staged_file = _staging_path(target)
    with staged_file.open("wb") as out:
        out.write((",".join(frame.columns) + "\n").encode("utf-8"))
        for part in _spark_parts(staged_parts):
            with part.open("rb") as chunk:
                shutil.copyfileobj(chunk, out, length=4 * 1024 * 1024)
    remove(staged_parts, [target.parent])
    replace_path(staged_file, target)
    return target


def write_table(
    frame: DataFrame,
    run: RunContext,
    table: str,
    *,
    partner: str | None = None,
    details: dict[str, Any] | None = None,
) -> str:
    """Write a new version of a table (or of one partner's partition) for the run's commit.

    The version goes in a folder of its own beside the current one; readers keep seeing the
    current version until the run commits. Returns the new folder, for the run to read back.
    """
    commit = run.tables()
    unit = unit_name(table, partner)
    path = run.claim(commit.version_folder(unit))
    if partner:
        frame = frame.drop("partner")  # the unit carries it
    rows = Observation()  # counted while writing, for the run's lineage event
    frame.observe(rows, F.count(F.lit(1)).alias("rows")).write.parquet(path)
    commit.stage_version(unit, **(details or {}))
    run.noted_write(
        DatasetNote(
            uri=commit.unit_location(unit),
            unit=unit,
            fields=schema_fields(frame.schema),
            rows=int(rows.get["rows"]),
        )
    )
    fault_point(f"wrote:{unit}")
    return path


def read_version(spark: SparkSession, path: str, partner: str | None = None) -> DataFrame:
    """A version this run just wrote (with its `partner` column restored for a partition)."""
    frame = spark.read.parquet(path)
    return _with_partner(frame, partner) if partner else frame


def committed_table(
    spark: SparkSession, warehouse: str, table: str, partner: str | None = None
) -> DataFrame | None:
    """A table's committed version (this run's own, once staged), or None before any."""
    unit = unit_name(table, partner)
    folders = staged_by_this_run(unit) or committed_uris(warehouse, unit, spark)
    if not folders:
        return None
    frame = read_version(spark, folders[0], partner)
    note_table_read(unit, folders, frame)
    return frame


def note_table_read(unit: str, folders: list[str], frame: DataFrame) -> None:
    """Tell the current run it read a table version (not one it wrote itself)."""
    run = current_run()
    if run is None or (run.commit is not None and unit in run.commit.staged):
        return
    run.noted_read(
        DatasetNote(
            uri=folders[0].rstrip("/").rsplit("/", 1)[0],
            unit=unit,
            version=",".join(f.rstrip("/").rsplit("/", 1)[1] for f in folders),
            fields=schema_fields(frame.schema),
        )
    )


def read_committed(
    spark: SparkSession,
    warehouse: str,
    table: str,
    partner: str | None = None,
    *,
    remedy: str = "run the job that writes it first",
) -> DataFrame:
    """A table's committed version, or one clear error naming it and what writes it."""
    frame = committed_table(spark, warehouse, table, partner)
    if frame is None:
        what = f"the {table} of partner {partner}" if partner else f"the {table} table"
        raise WorkspaceError(
            f"{warehouse.rstrip('/')}/{unit_name(table, partner)}", f"{what}; {remedy}"
        )
    return frame


def staged_by_this_run(unit: str) -> list[str] | None:
    """What the current run (or a run it reads from) staged for a unit, if anything."""
    run = current_run()
    if run is None:
        return None
    for writer in (run, *run.upstream):
        staged = writer.commit.staged_uris(unit) if writer.commit else None
        if staged:
            return staged
    return None


def current_version(warehouse: str, table: str, partner: str | None = None) -> str | None:
    """The folder name (`v-<workflow>`) of the version a reader in this run sees, or None."""
    unit = unit_name(table, partner)
    folders = staged_by_this_run(unit) or committed_uris(warehouse, unit)
    return folders[0].rstrip("/").rsplit("/", 1)[-1] if folders else None


def committed_folder(warehouse: str, table: str, partner: str | None = None) -> str | None:
    """The folder of a table's committed version, for readers that are not Spark (pyarrow)."""
    folders = committed_uris(warehouse, unit_name(table, partner))
    return folders[0] if folders else None


PROSPECT_LINEAGE = "_partnerkit_lineage.json"  # a copy for people; Spark ignores `_` files
PROSPECT_LINEAGE_EVENT = "prospect_lineage"  # the record activation decides from


def save_prospect_lineage(
    path: str, run: RunContext, *, audience: str, partner: str, expression: str, fields: list[str]
) -> dict:
    """Record what a prospect audience was built from in the run's ledger, and a copy beside it."""
    document = {
        "audience": audience,
        "partner": partner,
        "expression": expression,
        "fields": fields,
    }
    run.ledger.record_event(run.workflow_id, PROSPECT_LINEAGE_EVENT, document)
    Path(path, PROSPECT_LINEAGE).write_text(json.dumps(document, indent=2), encoding="utf-8")
    return document


def load_prospects(
    spark: SparkSession, warehouse: str, ledger: Ledger, name: str
) -> tuple[DataFrame, dict]:
    """A saved prospect audience and the lineage the ledger recorded when its version was saved.

    The copy beside the audience must still say the same: an edited copy is refused, so no
    one can change what a policy decides from by editing a file.
    """
    check_name("prospect audience", name)
    unit = f"{PROSPECTS_TABLE}/{name}"
    entry = read_manifest(warehouse, spark).tables.get(unit)
    saved = f"{warehouse.rstrip('/')}/{unit}"
    if entry is None:
        remedy = "a prospect audience; save one with `partnerkit lookalike ... --save NAME`"
        raise WorkspaceError(saved, remedy)
    recorded = [
        event["payload"]
        for event in ledger.events(entry.workflow_id)
        if event["kind"] == PROSPECT_LINEAGE_EVENT and event["payload"].get("audience") == name
    ]
    if not recorded:
        raise WorkspaceError(
            saved, "an audience whose lineage the ledger recorded (save it again with --save)"
        )
    (path,) = committed_uris(warehouse, unit, spark)
    copy = Path(path, PROSPECT_LINEAGE)
    if not copy.is_file() or json.loads(copy.read_text(encoding="utf-8")) != recorded[-1]:
        raise WorkspaceError(
            str(copy),
            "the lineage recorded in the ledger when the audience was saved; the file was "
            "changed or removed, so the audience is not activated (save it again with --save)",
        )
    return spark.read.parquet(path), recorded[-1]


def read_profiles(spark: SparkSession, warehouse: str) -> DataFrame:
    """The profiles table, or an error saying which job writes it."""
    return read_committed(spark, warehouse, PROFILES_TABLE, remedy="run `partnerkit enrich` first")


def _with_partner(frame: DataFrame, partner: str) -> DataFrame:
    return frame.select(F.lit(partner).alias("partner"), *frame.columns)


def export_table(frame: DataFrame, target: Path, export_format: str) -> Path:
    """Export a table as one CSV, JSON (array) or JSON Lines file for people and other tools."""
    if export_format == "csv":
        flat = frame.select(
            *[
                F.array_join(F.col(f.name), ";").alias(f.name)
                if f.dataType.typeName() == "array"
                else F.col(f.name)
                for f in frame.schema.fields
            ]
        )
        return write_csv_file(flat, target)
    lines = frame.select(F.to_json(F.struct(*frame.columns)).alias("line"))
    staged = _staging_path(target)
    lines.write.text(str(staged))
    merged = _staging_path(target)
    with merged.open("wb") as out:
        parts = _spark_parts(staged)
        if export_format == "json":
            out.write(b"[\n")
        first = True
        for part in parts:
            with part.open("rb") as chunk:
                for line in chunk:
                    if export_format == "json":
                        out.write(b"" if first else b",\n")
                        out.write(line.rstrip(b"\n"))
                    else:
                        out.write(line)
                    first = False
        if export_format == "json":
            out.write(b"\n]\n")
    remove(staged, [target.parent])
    replace_path(merged, target)
    return target
