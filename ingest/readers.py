"""Read seed and partner files into DataFrames of strings, and check mapped columns exist."""

from __future__ import annotations

import gzip
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


def reader_options(
    given: Mapping[str, str], *, file_format: str, has_quotes: bool | None
) -> dict[str, str]:
    """The user's reader options; a CSV file with no quote character is parsed line by line.

    `multiLine` lets a quoted value hold a newline, but then Spark cannot split a file: one
    big file is parsed on one core. Without a quote no value can hold a newline, so a file
    known to have none (`has_quotes=False`, seen while it was staged) is read split.
    """
    options = dict(given)
    if file_format != "csv":
        return options
    custom_quote = options.get("quote", '"') != '"'
    if has_quotes is False and not custom_quote and "multiLine" not in options:
        options["multiLine"] = "false"
    return options


def local_files_have_quotes(path: str) -> bool | None:
    """Whether a local file (or the files of a local folder) holds a `"`; gzip is read
    decompressed. None for anything else (a glob, a URI): then it is not known."""
    root = Path(path)
    if "://" in path or not root.exists():
        return None
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for file in files:
        opener = gzip.open if file.name.endswith(".gz") else open
        with opener(file, "rb") as handle:
            while block := handle.read(8 * 1024 * 1024):
                if b'"' in block:
                    return True
    return False


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


def require_columns(
    frame: DataFrame,
    columns: Iterable[str | None],
    *,
    file: str,
    keys: Mapping[str, str] | None = None,
) -> None:
    """Raise one error listing every mapped column the file lacks; where a column comes from
    an optional config key (`keys`: column -> key), the error says to set that key to null."""
    available = frame.columns
    missing = sorted({c for c in columns if c is not None and c not in available})
    if missing:
        optional = [keys[c] for c in missing if keys and c in keys]
        hint = (
            f"; name the column that holds each, or set {', '.join(optional)} to null when "
            "the file has none"
            if optional
            else ""
        )
        raise MissingColumnsError(file=file, missing=missing, available=list(available), hint=hint)
