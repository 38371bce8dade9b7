"""A class-data-sharing (CDS) archive of the local driver JVM's classes, made once per machine.

Every local run starts a JVM that loads and verifies thousands of classes from Spark's ~280
jars: 7.5 s to a session and 3.8 s for a first one-row job on this project's 2-core machine;
with a dynamic CDS archive (JDK 13+) 3.9 s and 1.8 s. The first run without an archive asks
its JVM to write one when it exits (`-XX:ArchiveClassesAtExit`, to a file of its own); at exit
the Python side closes the JVM, waits for it and publishes the file with an atomic rename.
Later runs map it (`-XX:SharedArchiveFile`); a JVM that finds it unusable (another JDK, other
jars) ignores it, and the key in the name changes with the JDK and the jars anyway.

`PARTNERKIT_CLASS_ARCHIVE=off` turns it off; the archives live under
`$XDG_CACHE_HOME/partnerkit` (default `~/.cache/partnerkit`), about 150 MB each.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import subprocess
import time
from pathlib import Path

import pyspark

from jobs.warehouse.paths import remove

ARCHIVE_ENV = "PARTNERKIT_CLASS_ARCHIVE"
# The JVM reports an archive it cannot use on stdout; an unusable archive is only slower.
QUIET = "-Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"
CRASH_REPORT = "hs_err_pid%p.log"  # in the cache folder, not in the user's working directory
STALE_SECONDS = 24 * 3600
JVM_EXIT_SECONDS = 120
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


def archive_java_options(java_version: str, java_options: str) -> str:
    """The JVM options that use the archive, or that make the JVM write it at exit ("" = off)."""
    if os.environ.get(ARCHIVE_ENV, "").lower() in ("off", "0", "false", "no"):
        return ""
    archive = archive_path(java_version, java_options)
    if archive.is_file():
        crash_report = archive.parent / CRASH_REPORT
        return f"-XX:SharedArchiveFile={archive} -XX:ErrorFile={crash_report} {QUIET}"
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return ""  # a read-only home: run without an archive
    _remove_stale_drafts(archive.parent)
    draft = archive.with_name(f"{archive.stem}.{os.getpid()}.tmp")
    atexit.register(_publish_at_exit, draft, archive)
    return f"-XX:ArchiveClassesAtExit={draft} {QUIET}"


def discard_archive(java_version: str, java_options: str) -> None:
    """Delete the archive (damaged: its JVM would not start); the next run makes a new one."""
    remove(archive_path(java_version, java_options), [archive_dir()])
    logger.warning("the JVM would not start with its class archive; removed it, running without")


def _remove_stale_drafts(folder: Path) -> None:
    """Drafts of JVMs that never exited cleanly (killed runs) are deleted after a day."""
    now = time.time()
    for draft in folder.glob("*.tmp"):
        try:
            if now - draft.stat().st_mtime > STALE_SECONDS:
                remove(draft, [folder])
        except OSError:
            continue


def _publish_at_exit(draft: Path, archive: Path) -> None:
    """Close the driver JVM (it writes the draft as it exits), then rename the draft."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    if process is None or process.stdin is None:
        return
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    try:
        process.stdin.close()  # the gateway exits on EOF; the JVM then writes the archive
        process.wait(timeout=JVM_EXIT_SECONDS)
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        logger.debug("class archive not written: %s", error)
    if process.returncode == 0 and draft.is_file() and not archive.exists():
        os.replace(draft, archive)
    else:
        remove(draft, [archive_dir()])
