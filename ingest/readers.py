"""Read seed and partner files into DataFrames of strings, and check mapped columns exist."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from ingest.errors import MissingColumnsError

logger = logging.getLogger(__name__)

# Values are read as text and parsed later with try_* functions: a bad cell must become a
# quarantine reason, never a cast error (ANSI mode) that quotes the value.
CSV_DEFAULTS = {
    "header": "true",
    "multiLine": "true",  # a quoted value may hold a newline: one record, not two broken ones
    "inferSchema": "false",
    "mode": "PERMISSIVE",
    "ignoreLeadingWhiteSpace": "false",
    "ignoreTrailingWhiteSpace": "false",
    "encoding": "UTF-8",
}


_GLOB_CHARACTERS = "\\*?[]{}"


def literal_path(path: str) -> str:
    """A local file's path escaped so Spark (Hadoop's glob) reads exactly that file.

    `universe[1].csv` would otherwise be read as the glob `universe1.csv`.
    """
    return "".join(f"\\{c}" if c in _GLOB_CHARACTERS else c for c in path)


def spark_path(path: str) -> str:
    """An existing local file or folder is read literally; anything else is the user's glob
    or URI, passed on as written."""
    if "://" not in path and Path(path).exists():
        return literal_path(path)
    return path


def read_file(
    spark: SparkSession, path: str, *, file_format: str, options: Mapping[str, str] | None = None
) -> DataFrame:
    """Read CSV (gzip by extension), JSON, JSON Lines or Parquet from a file, folder or glob."""
    given = dict(options or {})
    path = spark_path(path)
    if file_format == "csv":
        return spark.read.options(**{**CSV_DEFAULTS, **given}).csv(path)
    if file_format == "json":
        return spark.read.options(**{"multiLine": "true", **given}).json(path)
    if file_format == "jsonl":
        return spark.read.options(**given).json(path)
    if file_format == "parquet":
        return spark.read.options(**given).parquet(path)
    raise ValueError(
        f"{path}: unsupported format {file_format!r}; expected csv, json, jsonl or parquet"
    )


def require_columns(frame: DataFrame, columns: Iterable[str | None], *, file: str) -> None:
    """Raise one error listing every mapped column the file lacks."""
    available = frame.columns
    missing = sorted({c for c in columns if c is not None and c not in available})
    if missing:
        raise MissingColumnsError(file=file, missing=missing, available=list(available))
