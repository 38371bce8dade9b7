"""Shared fixtures: one SparkSession, a moto S3 server on loopback, config edits, the CLI."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql import DataFrame, SparkSession

import __main__
from jobs import generate
from jobs.cli.app import run_cli
from jobs.cli.output import lend_session
from jobs.config import CONFIG_FILE_NAME, Workspace, load_workspace, write_starter_workspace
from jobs.demo.synthetic import GeneratorSettings
from jobs.runtime.class_archive import ARCHIVE_ENV
from jobs.runtime.local_s3 import local_s3_server
from jobs.runtime.logs import CONSOLE_LEVEL_ENV, FILE_LEVEL_ENV, LOG_ENV
from jobs.runtime.runs import JobResult, RunContext, open_run
from jobs.runtime.spark import SparkSettings, build_spark
from jobs.warehouse.tables import write_table

# pytest-xdist's workers run under execnet, whose __main__ has neither __spec__ nor __file__:
# pyspark.sql.connect (imported by Great Expectations) then takes the process for a doctest
# run without Spark Connect's requirements and calls sys.exit(0) in the middle of a test.
if getattr(__main__, "__spec__", None) is None and not hasattr(__main__, "__file__"):
    __main__.__file__ = "pytest-worker"

# Tests run thousands of queries on a few hundred rows, where compiling each stage's generated
# Java costs more than running it, and so does re-planning after each stage (adaptive query
# execution: 4 alternated pairs of two test-file sets, 0.92x without it). Spark's interpreted
# operators and static plans give the same results (Spark's own suites run both). The demo
# fixture, and every test process with a JVM of its own (cold command, fresh kill, cluster,
# class archive), run with the user's settings.
SMALL_DATA = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
}


@pytest.fixture(scope="session")
def spark_log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the test session's JVM logs, as a command's does to its workspace's log file."""
    return tmp_path_factory.mktemp("spark-log") / "spark.log"


@pytest.fixture(scope="session")
def spark_session(
    tmp_path_factory: pytest.TempPathFactory, spark_log_file: Path
) -> Iterator[SparkSession]:
    """The production factory with test settings; built once because a start costs ~10 s."""
    settings = SparkSettings(
        app_name="partnerkit-tests",
        master="local[2]",  # CI has 2 cores
        shuffle_partitions=2,  # inline DataFrames are tiny; 200 partitions would be 200 tasks
        warehouse_dir=str(tmp_path_factory.mktemp("spark-warehouse")),
        conf=SMALL_DATA,
    )
    # Without a class archive: with an empty cache (CI) this process would start the ~40 s
    # archive writer as it exits. The writer's test writes the one later fresh processes map.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ARCHIVE_ENV, "off")
        patch.setenv(LOG_ENV, str(spark_log_file))
        patch.setenv(FILE_LEVEL_ENV, "warn")
        patch.setenv(CONSOLE_LEVEL_ENV, "off")
        spark = build_spark(settings)
    yield spark
    spark.stop()


@contextmanager
def user_settings(spark: SparkSession) -> Iterator[None]:
    """Code generation and adaptive execution on, as in a user's session, for the block."""
    for key in SMALL_DATA:
        spark.conf.unset(key)
    try:
        yield
    finally:
        for key, value in SMALL_DATA.items():
            spark.conf.set(key, value)


@pytest.fixture
def spark(spark_session: SparkSession) -> Iterator[SparkSession]:
    """The shared session, with caches and temp views cleared after each test."""
    yield spark_session
    spark_session.catalog.clearCache()
    for table in spark_session.catalog.listTables():
        if table.isTemporary:
            spark_session.catalog.dropTempView(table.name)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server speaking real HTTP on 127.0.0.1; boto3 reaches it via AWS_ENDPOINT_URL."""
    with local_s3_server() as endpoint:
        yield endpoint


ConfigChange = Callable[[dict[str, Any]], None]
EditConfig = Callable[[Path, ConfigChange], Workspace]


def edit_workspace_config(root: Path, change: ConfigChange) -> Workspace:
    """Call `change(data)` on a workspace's parsed partnerkit.yaml, write it back and load the
    workspace (validated as a user's is); a starter file is written first when there is none."""
    path = root / CONFIG_FILE_NAME
    if not path.is_file():
        write_starter_workspace(root, force=False)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_workspace(root)


@pytest.fixture
def edit_config() -> EditConfig:
    """`edit_config(root, change)`: edit a workspace's partnerkit.yaml as data and load it."""
    return edit_workspace_config


@dataclass
class CliRun:
    """What one in-process `partnerkit` run returned and printed."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


Cli = Callable[..., CliRun]


@pytest.fixture
def cli(spark: SparkSession, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `partnerkit ARGS...` in this process on the shared test session.

    The command parses, runs and renders exactly as the installed one does (same exit codes,
    stdout and stderr); only the Spark session is lent instead of started and stopped.
    """

    def run(*args: str) -> CliRun:
        capsys.readouterr()
        with lend_session(spark):
            code = run_cli(list(args))
        printed = capsys.readouterr()
        return CliRun(code, printed.out, printed.err)

    return run


# One generated workspace for the run: generating costs a Spark job per test that needs data.
GENERATED = GeneratorSettings(seeds=300, universe=1200, seed=11)


@dataclass(frozen=True)
class GeneratedRun:
    """The session's generated workspace and what its generate run returned."""

    root: Path
    result: JobResult


@pytest.fixture(scope="session")
def generated_run(
    spark_session: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> GeneratedRun:
    """A starter workspace with GENERATED's seed set and universe and nothing else run on it.

    Read-only: tests copy it (`copy_workspace`) before running jobs on it.
    """
    root = tmp_path_factory.mktemp("generated") / "ws"
    write_starter_workspace(root, force=False)
    result = generate.run(load_workspace(root), spark_session, settings=GENERATED)
    return GeneratedRun(root, result)


@pytest.fixture(scope="session")
def generated_workspace(generated_run: GeneratedRun) -> Path:
    """The root of `generated_run`'s workspace (read-only)."""
    return generated_run.root


def acme_only(config: dict[str, Any]) -> None:
    """A config change: the first partner alone (for tests whose point needs only one)."""
    config["partners"] = [p for p in config["partners"] if p["name"] == "acme"]
    config["canonical"]["domain_order"] = {}


RUN_SPECIFIC = ("seconds", "mode", "full_because", "changed_persons", "changed_profiles")
SINCE_BEFORE = ("new", "lost", "drift")


def match_figures(stats: dict[str, Any]) -> dict[str, Any]:
    """A partner's match stats without what depends on how the run went (time split,
    incremental or full) or on the run before it: what two runs on the same data agree on."""
    return {key: value for key, value in stats.items() if key not in RUN_SPECIFIC + SINCE_BEFORE}


def copy_workspace(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def commit_table(
    workspace: Workspace,
    frame: DataFrame,
    table: str,
    *,
    partner: str | None = None,
    then: Callable[[str, RunContext], object] | None = None,
) -> str:
    """Write and commit one table version as a job would (a run of its own); `then` gets the
    written folder and the run before the commit (to add files beside the data)."""
    with open_run(workspace, "test_fixture", spark=frame.sparkSession) as run:
        path = write_table(frame, run, table, partner=partner)
        if then is not None:
            then(path, run)
    return path
