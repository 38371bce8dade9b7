"""The one SparkSession factory: local by default, a cluster when asked, spark-submit respected."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pyspark import SparkConf as PySparkConf
from pyspark import SparkContext
from pyspark.errors import PySparkRuntimeError
from pyspark.java_gateway import launch_gateway
from pyspark.sql import SparkSession

from jobs.config import SparkConf
from jobs.errors import JavaUnavailableError
from jobs.runtime.class_archive import DRIVER_OPTIONS, archive_java_options, discard_archive
from jobs.runtime.logs import JVM_STDERR_ENV, relay_scrubbed

MASTER_ENV = "PARTNERKIT_SPARK_MASTER"
MIN_JAVA_MAJOR = 17
# Spark sets these in the Python driver it launches; then the JVM and its master already exist.
SPARK_SUBMIT_ENV = "PYSPARK_GATEWAY_PORT"
C2_LATER = (
    "-XX:Tier4InvocationThreshold=15000 -XX:Tier4MinInvocationThreshold=1800 "
    "-XX:Tier4CompileThreshold=45000 -XX:Tier4BackEdgeThreshold=1000000"
)

NIO_BUFFER_CAP = "-Djdk.nio.maxCachedBufferSize=262144"


class SparkSettings(BaseModel):
    """What a job needs to know to get a session; everything else stays at Spark's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_name: str = "partnerkit"
    master: str | None = None
    shuffle_partitions: int = Field(default=8, ge=1)
    warehouse_dir: str | None = None
    conf: SparkConf = Field(default_factory=dict)


def is_spark_submit() -> bool:
    """Whether spark-submit started this Python driver (and so chose the master)."""
    return SPARK_SUBMIT_ENV in os.environ


def resolve_master(requested: str | None) -> str | None:
    """Pick --master, then PARTNERKIT_SPARK_MASTER, else None (spark-submit's choice, or local)."""
    return requested or os.environ.get(MASTER_ENV) or None


def is_local_master(master: str | None) -> bool:
    """Local mode is PySpark's default when nothing else chose a master."""
    if master is None:
        return not is_spark_submit()
    return master.startswith("local")


def java_major_version(version_output: str) -> int | None:
    """Read the major version from `java -version` output ("1.8.0_392" -> 8, "17.0.15" -> 17)."""
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not found:
        return None
    major = int(found.group(1))
    if major == 1 and found.group(2):
        return int(found.group(2))
    return major


def find_java() -> str | None:
    """Find the java binary the way spark-class does: $JAVA_HOME/bin/java, else PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def require_java() -> str:
    """The `java -version` text; one readable sentence when Java is missing or too old."""
    install_hint = (
        f"install Java {MIN_JAVA_MAJOR} or newer (e.g. `apt-get install openjdk-17-jre-headless`) "
        "and put it on PATH or set JAVA_HOME"
    )
    java = find_java()
    if java is None:
        where = "JAVA_HOME" if os.environ.get("JAVA_HOME") else "PATH"
        raise JavaUnavailableError(
            f"Spark needs Java, but none was found on {where}: {install_hint}."
        )
    try:
        completed = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as error:
        raise JavaUnavailableError(
            f"Spark needs Java, but {java} would not run ({error.strerror}): {install_hint}."
        ) from None
    major = java_major_version(completed.stderr + completed.stdout)
    if major is None or major < MIN_JAVA_MAJOR:
        found = f"Java {major}" if major else "an unrecognised Java"
        raise JavaUnavailableError(
            f"Spark 4 needs Java {MIN_JAVA_MAJOR}+, but {java} is {found}: {install_hint}."
        )
    return completed.stderr + completed.stdout


def log4j_config_path() -> str:
    """The bundled log4j2 file that keeps the JVM at WARN from its first line."""
    return str(files("jobs.runtime").joinpath("log4j2.properties"))


def local_defaults(settings: SparkSettings) -> dict[str, str]:
    """Settings for a laptop: no UI, few shuffle partitions, loopback networking."""
    return {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        # The throughput collector: batch jobs want throughput, not G1's short pauses
        # (prepare + match of 1M seeds x 5M universe, cold: 91.3 s with G1, 85.0 s with it).
        # C2 compiles a method only after 3x HotSpot's default calls: a cold `match --prepare`
        # spent 84 s of CPU in C2 (4,000 methods, much of it Spark's planner and generated
        # code run a few times), on cores the tasks need; 64 s with these. Loop trips must reach
        # 25x the default before C2 compiles from inside a loop (on-stack replacement): Spark's
        # generated per-row methods have small loops, and at 3x the 6,377-byte method of the
        # seed rules was compiled seven times (six loop entries, then its normal entry). Two
        # pairs of cold runs: C2 58.4 and 61.8 s against 65.6 and 72.4 s at 3x.
        # The JDK keeps, per thread, a direct buffer as large as the largest heap buffer that
        # thread ever read a file into; Spark's task threads read column chunks of many MB. An
        # ingest of 500k rows held 240 MB of them (17 MB with this cap), at the same speed.
        DRIVER_OPTIONS: (
            f"-Dlog4j2.configurationFile=file:{log4j_config_path()} -XX:+UseParallelGC {C2_LATER}"
            f" {NIO_BUFFER_CAP}"
        ),
        # In local mode the executors live in the driver JVM; Spark's 1g default could not hold
        # the broadcast seed hashes of a 1M-seed match plus its aggregations (measured here).
        "spark.driver.memory": "2g",
    }


def build_spark(settings: SparkSettings) -> SparkSession:
    """Build (or reuse) the SparkSession for a job run.

    The master is set only when the user asked for one, so a master chosen by spark-submit
    keeps working unchanged; local defaults apply only in local mode.
    """
    master = resolve_master(settings.master)
    local = is_local_master(master)
    java_version = "" if is_spark_submit() else require_java()
    conf: dict[str, str] = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        # HotSpot never JIT-compiles a method over 8000 bytes of bytecode, so a wide generated
        # stage (40+ attribute columns) would run interpreted: 12 s vs 3.2 s per 1M universe
        # rows measured here. At 8000 Spark splits such stages into compilable pieces instead.
        "spark.sql.codegen.hugeMethodLimit": "8000",
        # On by default, every column function (`F.col`, `F.when`, ...) asks the JVM for the
        # active session and a setting and records the Python call site there: 13 py4j
        # commands instead of 3 (5,000 `F.col` calls: 22.9 s against 2.8 s, measured here). The
        # call site only decorates Spark's error text, which never reaches a user unreduced.
        "spark.python.sql.dataFrameDebugging.enabled": "false",
        # A write partitioned by a column of few values (ingest's accepted and held rows)
        # keeps one file open per value instead of sorting every row by it first.
        "spark.sql.maxConcurrentOutputFileWriters": "4",
    }
    if local:
        # Without this Spark binds to the first network interface and warns about it.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # glibc gives each JVM thread that mallocs (zlib, codecs) its own arena, up to 8 per
        # core, and keeps their freed pages: prepare + match twice in one session peaked at
        # 4.8 GB RSS with a 2 GB heap, 2.8 GB with two arenas at the same speed (measured here).
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
        conf.update(local_defaults(settings))
    if settings.warehouse_dir:
        conf["spark.sql.warehouse.dir"] = settings.warehouse_dir
    conf.update(settings.conf)
    archive_options = ""
    if local and java_version and SparkContext._gateway is None:  # this process starts the JVM
        session_options = {**({"spark.master": master} if master else {}), **conf}
        archive_options = archive_java_options(java_version, session_options)
    try:
        spark = start_session(settings.app_name, master, conf, archive_options)
    except PySparkRuntimeError:
        if not archive_options:
            raise
        # A damaged archive crashes the JVM as it maps it (SIGBUS): drop it, start without.
        discard_archive(java_version, conf.get(DRIVER_OPTIONS, ""))
        spark = start_session(settings.app_name, master, conf, "")
    spark.sparkContext.setLogLevel("WARN")
    return spark


def start_session(
    app_name: str, master: str | None, conf: dict[str, str], archive_options: str
) -> SparkSession:
    """A session with exactly these settings, `archive_options` added to the driver's JVM
    options (the class archive's writer starts its small JVM here too)."""
    options = {"spark.app.name": app_name, **({"spark.master": master} if master else {})}
    options.update(conf)
    driver_options = f"{conf.get(DRIVER_OPTIONS, '')} {archive_options}".strip()
    if driver_options:
        options[DRIVER_OPTIONS] = driver_options
    launch_jvm_with_stderr_logged(options)  # the JVM the builder would start, with the same
    builder = SparkSession.builder
    for key, value in options.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def launch_jvm_with_stderr_logged(options: dict[str, str]) -> None:
    """Start this process's JVM with its stderr relayed, scrubbed, to the Spark log (see
    `route_spark_logs`), so nothing the JVM prints by itself reaches the terminal.

    The session built next reuses this gateway, with the same options it would have
    launched with. Nothing to do under spark-submit (the JVM is already running), with
    --debug, or when the JVM is already up.
    """
    log = os.environ.get(JVM_STDERR_ENV)
    if not log or SparkContext._gateway is not None or "PYSPARK_GATEWAY_PORT" in os.environ:
        return
    spark_conf = PySparkConf()
    for key, value in options.items():
        spark_conf.set(key, value)
    gateway = launch_gateway(spark_conf, popen_kwargs={"stderr": subprocess.PIPE})
    process = getattr(gateway, "proc", None)
    if process is not None and process.stderr is not None:
        relay_scrubbed(process.stderr, log)
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm
