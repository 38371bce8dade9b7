"""File and table writes that are atomic: readers see the old version or the new, never half."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.errors import WorkspaceError
from jobs.warehouse.catalogue import PROFILES_TABLE, PROSPECTS_TABLE

# Spark's CSV writer trims values by default; delivered files must keep them byte for byte.
CSV_WRITE_OPTIONS = {
    "ignoreLeadingWhiteSpace": False,
    "ignoreTrailingWhiteSpace": False,
    "emptyValue": "",
}


def _staging_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.staging-{uuid.uuid4().hex[:12]}")


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
        shutil.rmtree(retired)
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
            leftover.unlink()
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
    shutil.rmtree(staged_parts)
    replace_path(staged_file, target)
    return target


def table_path(warehouse: str, table: str, partner: str | None = None) -> str:
    """Where a table (or one partner's partition of it) lives under the warehouse."""
    path = f"{warehouse.rstrip('/')}/{table}"
    return f"{path}/partner={partner}" if partner else path


def write_table(frame: DataFrame, warehouse: str, table: str, *, partner: str | None = None) -> str:
    """Write Parquet so readers never see a half-written table.

    On a local warehouse the new version is written beside the old and swapped in by rename.
    A partner's partition is swapped alone, so re-running one partner leaves the others.
    On object stores (s3a://) Spark's overwrite is used: rename is not atomic there.
    """
    path = table_path(warehouse, table, partner)
    if partner:
        frame = frame.drop("partner")  # the partition folder carries it
    if "://" in path and not path.startswith("file://"):
        frame.write.mode("overwrite").parquet(path)
        return path
    target = Path(path.removeprefix("file://"))
    staged = _staging_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.write.parquet(str(staged))
    replace_path(staged, target)
    return str(target)


PROSPECT_LINEAGE = "_partnerkit_lineage.json"


def save_prospect_lineage(path: str, *, partner: str, expression: str, fields: list[str]) -> None:
    """Keep what a prospect audience was built from next to it (Spark ignores `_` files)."""
    document = {"partner": partner, "expression": expression, "fields": fields}
    Path(path, PROSPECT_LINEAGE).write_text(json.dumps(document, indent=2), encoding="utf-8")


def load_prospects(spark: SparkSession, warehouse: str, name: str) -> tuple[DataFrame, dict]:
    """A saved prospect audience and its lineage, or an error saying how to make one."""
    path = table_path(warehouse, f"{PROSPECTS_TABLE}/{name}")
    lineage = Path(path, PROSPECT_LINEAGE)
    if not lineage.is_file():
        raise WorkspaceError(
            path, "a prospect audience; save one with `partnerkit lookalike ... --save NAME`"
        )
    return spark.read.parquet(path), json.loads(lineage.read_text(encoding="utf-8"))


def read_profiles(spark: SparkSession, warehouse: str) -> DataFrame:
    """The profiles table, or an error saying which job writes it."""
    path = table_path(warehouse, PROFILES_TABLE)
    return read_written(
        spark, path, what="the profiles table", remedy="run `partnerkit enrich` first"
    )


def read_partition(spark: SparkSession, warehouse: str, table: str, partner: str) -> DataFrame:
    """One partner's partition of a table, with its `partner` column restored."""
    return _with_partner(spark.read.parquet(table_path(warehouse, table, partner)), partner)


def _with_partner(frame: DataFrame, partner: str) -> DataFrame:
    return frame.select(F.lit(partner).alias("partner"), *frame.columns)


def path_exists(spark: SparkSession, path: str) -> bool:
    """Whether a file or folder exists, asked through Hadoop so any warehouse URI works."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    return bool(hadoop_path.getFileSystem(conf).exists(hadoop_path))


def read_written(spark: SparkSession, path: str, *, what: str, remedy: str) -> DataFrame:
    """A Parquet table, or one clear error naming it and what writes it (instead of Spark's
    AnalysisException after a Java stack trace in its log)."""
    if not path_exists(spark, path):
        raise WorkspaceError(path, f"{what}; {remedy}")
    return spark.read.parquet(path)


def read_written_partition(
    spark: SparkSession, warehouse: str, table: str, partner: str, *, remedy: str
) -> DataFrame:
    """read_partition, or read_written's error."""
    path = table_path(warehouse, table, partner)
    what = f"the {table} of partner {partner}"
    return _with_partner(read_written(spark, path, what=what, remedy=remedy), partner)


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
    shutil.rmtree(staged)
    replace_path(merged, target)
    return target
