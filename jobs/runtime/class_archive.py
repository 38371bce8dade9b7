"""A class-data-sharing (CDS) archive of the local driver JVM's classes, made once per machine.

Every local run starts a JVM that loads and verifies thousands of classes from Spark's ~280
jars: 7.5 s to a session and 3.8 s for a first one-row job on this project's 2-core machine;
with a dynamic CDS archive (JDK 13+) 3.9 s and 1.8 s. A run that finds no archive for its
JVM options runs without one and, once its own JVM has exited, starts a small JVM of its own
(`python -m jobs.runtime.class_archive`, the same options and a 512 MB heap) that runs a few
one-row jobs and writes the archive as it exits (`-XX:ArchiveClassesAtExit`, to a draft that
is published with an atomic rename). A big job's JVM never dumps its classes: at 5M rows that
dump raised the ingest's peak from 2.6 to 4.1 GB. Later runs map the archive
(`-XX:SharedArchiveFile`); a JVM that finds it unusable (another JDK, other jars) ignores it,
and the key in the name changes with the JDK and the jars anyway.

`PARTNERKIT_CLASS_ARCHIVE=off` turns it off; the archives live under
`$XDG_CACHE_HOME/partnerkit` (default `~/.cache/partnerkit`), about 180 MB each.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyspark

from jobs.warehouse.paths import remove

ARCHIVE_ENV = "PARTNERKIT_CLASS_ARCHIVE"
DRIVER_OPTIONS = "spark.driver.extraJavaOptions"
# The JVM reports an archive it cannot use on stdout; an unusable archive is only slower.
QUIET = "-Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"
CRASH_REPORT = "hs_err_pid%p.log"  # in the cache folder, not in the user's working directory
WRITER_HEAP = "512m"  # the writer's jobs are one-row; the archive does not depend on the heap
STALE_SECONDS = 24 * 3600
JVM_EXIT_SECONDS = 120
WRITER_SECONDS = 600
logger = logging.getLogger(__name__)


def archive_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "partnerkit"


def archive_path(java_version: str, java_options: str) -> Path:
    """One archive per JDK, Spark jar set and JVM options (an archive records all three)."""
    jars = Path(pyspark.__file__).parent / "jars"
    listing = sorted((jar.name, jar.stat().st_size) for jar in jars.glob("*.jar"))
    key = json.dumps([java_version, pyspark.__version__, java_options, listing])
    return archive_dir() / f"spark-driver-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsa"


def archive_java_options(java_version: str, session_options: dict[str, str]) -> str:
    """The JVM options that map the archive; "" when there is none (or it is off).

    Without one, the archive is written after this process's JVM has exited, by a small JVM
    started with the same `session_options` (see the module docstring).
    """
    if os.environ.get(ARCHIVE_ENV, "").lower() in ("off", "0", "false", "no"):
        return ""
    archive = archive_path(java_version, session_options.get(DRIVER_OPTIONS, ""))
    if archive.is_file():
        crash_report = archive.parent / CRASH_REPORT
        return f"-XX:SharedArchiveFile={archive} -XX:ErrorFile={crash_report} {QUIET}"
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return ""  # a read-only home: run without an archive
    _remove_stale_drafts(archive.parent)
    atexit.register(_write_after_exit, archive, session_options)
    return ""


def discard_archive(java_version: str, java_options: str) -> None:
    """Delete the archive (damaged: its JVM would not start); the next run makes a new one."""
    remove(archive_path(java_version, java_options), [archive_dir()])
    logger.warning("the JVM would not start with its class archive; removed it, running without")


def _remove_stale_drafts(folder: Path) -> None:
    """Drafts (and job folders) of writers that never exited cleanly are deleted after a day."""
    now = time.time()
    for draft in folder.glob("*.tmp"):
        try:
            if now - draft.stat().st_mtime > STALE_SECONDS:
                remove(draft, [folder])
        except OSError:
            continue


def _write_after_exit(archive: Path, session_options: dict[str, str]) -> None:
    """Close this process's JVM, then have a small JVM of its own write the archive."""
    if not _close_driver_jvm() or archive.exists():
        return
    request = json.dumps({"archive": str(archive), "options": session_options})
    try:
        subprocess.run(
            [sys.executable, "-m", __name__],
            input=request,  # not argv: the options may carry credentials
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=WRITER_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        logger.debug("class archive not written: %r", error)


def _close_driver_jvm() -> bool:
    """Stop this process's Spark and wait for its JVM to exit; whether it exited cleanly."""
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None)
    if process is None or process.stdin is None:
        return False
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    try:
        process.stdin.close()  # the gateway exits on EOF
        process.wait(timeout=JVM_EXIT_SECONDS)
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        logger.debug("the driver JVM did not exit: %s", error)
        return False
    return process.returncode == 0


def write_archive(archive: Path, session_options: dict[str, str]) -> None:
    """Start a small JVM that writes a draft as it exits, run one-row jobs, publish the draft."""
    with archive.with_suffix(".lock").open("a") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another run's writer is at it; the system releases the lock if it dies
        if not archive.exists():
            _write_locked(archive, session_options)


def _write_locked(archive: Path, session_options: dict[str, str]) -> None:
    """The writer's JVM: published only if its jobs ran and it exited cleanly."""
    from jobs.runtime.spark import start_session  # the factory imports this module

    draft = archive.with_name(f"{archive.stem}.{os.getpid()}.tmp")
    options = {**session_options, "spark.driver.memory": WRITER_HEAP}
    master = options.pop("spark.master", None)
    # The one-row jobs' files: in the cache folder, deleted by `remove` (a killed writer's after
    # a day, with the drafts).
    scratch = Path(
        tempfile.mkdtemp(prefix=f"{archive.stem}.", suffix=".jobs.tmp", dir=archive.parent)
    )
    loaded = False
    try:
        spark = start_session(
            "partnerkit-class-archive", master, options, f"-XX:ArchiveClassesAtExit={draft} {QUIET}"
        )
        _load_job_classes(spark, scratch)
        loaded = True
    finally:
        remove(scratch, [archive.parent])
        exited = _close_driver_jvm()  # the draft is complete only once the JVM has exited
        if loaded and exited and draft.is_file() and not archive.exists():
            os.replace(draft, archive)
        elif draft.exists():
            remove(draft, [archive.parent])


def _load_job_classes(spark, folder: Path) -> None:  # noqa: ANN001 (pyspark stays lazy)
    """One-row versions of what partnerkit's jobs do, so their classes land in the archive:
    gzip CSV and Parquet I/O, hashing, regular expressions, joins, windows, aggregation."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rows = spark.createDataFrame([(1, " Ab.Cd-9 ", 0.5)], "id long, text string, score double")
    shaped = rows.select(
        "id",
        F.sha2(F.lower(F.trim("text")), 256).alias("hash"),
        F.regexp_replace("text", r"[^a-z0-9.]", "").alias("clean"),
        F.regexp_extract("text", r"\.(.+)$", 1).alias("domain"),
        F.coalesce(F.col("score"), F.lit(0.0)).alias("score"),
        F.current_timestamp().alias("at"),
    )
    shaped.write.option("header", True).option("compression", "gzip").csv(str(folder / "csv"))
    read = spark.read.option("header", True).schema(shaped.schema).csv(str(folder / "csv"))
    best = Window.partitionBy("hash").orderBy(F.col("score").desc())
    ranked = read.withColumn("rank", F.row_number().over(best)).where("rank = 1")
    totals = read.groupBy("domain").agg(F.count("*").alias("n"), F.max("score").alias("top"))
    joined = ranked.join(F.broadcast(totals), "domain").join(
        read.select("id", "hash").hint("merge"), ["id", "hash"]
    )
    joined.select("id", "domain", "n").write.partitionBy("domain").parquet(str(folder / "pq"))
    stored = spark.read.parquet(str(folder / "pq"))
    stored.join(read, "id", "left_anti").union(stored).distinct().collect()


if __name__ == "__main__":
    request = json.loads(sys.stdin.read())
    write_archive(Path(request["archive"]), request["options"])
