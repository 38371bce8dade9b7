"""The driver JVM's class archive: which options a run gets, and how a draft is published."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from subprocess import PIPE

import pytest

from jobs.runtime import class_archive as class_archive
from jobs.runtime.class_archive import ARCHIVE_ENV, archive_java_options, archive_path

JAVA = 'openjdk version "17.0.15" 2025-04-15'


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(ARCHIVE_ENV, raising=False)
    return tmp_path / "partnerkit"


def test_a_run_without_an_archive_maps_none_and_has_one_written_after_its_jvm_exits(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's own JVM never dumps its classes: at 5M rows that dump cost 1.5 GB of peak."""
    registered = []
    monkeypatch.setattr(class_archive.atexit, "register", lambda *a: registered.append(a))
    session = {"spark.driver.extraJavaOptions": "-XX:+UseParallelGC", "spark.master": "local[2]"}
    assert archive_java_options(JAVA, session) == ""
    archive = archive_path(JAVA, "-XX:+UseParallelGC")
    assert registered == [(class_archive._write_after_exit, archive, session)]


def test_later_runs_map_the_archive_and_other_options_get_their_own(cache: Path) -> None:
    archive = archive_path(JAVA, "-XX:+UseParallelGC")
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    session = {"spark.driver.extraJavaOptions": "-XX:+UseParallelGC"}
    assert archive_java_options(JAVA, session).startswith(f"-XX:SharedArchiveFile={archive} ")
    assert archive_path(JAVA, "-XX:+UseSerialGC") != archive
    assert archive_path('openjdk version "21"', "-XX:+UseParallelGC") != archive


def test_the_archive_can_be_turned_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARCHIVE_ENV, "off")
    assert archive_java_options(JAVA, {}) == ""
    assert not cache.exists()


def test_the_writer_starts_only_once_the_jobs_jvm_has_exited(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in JVM that, like the gateway, exits when its stdin closes; then the writer runs
    with the session's options on its stdin (not in argv, where `ps` would show them)."""
    from pyspark import SparkContext

    cache.mkdir()
    archive = cache / "a.jsa"
    job_jvm = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=PIPE)
    monkeypatch.setattr(SparkContext, "_gateway", type("Gateway", (), {"proc": job_jvm})())
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    started: list[tuple[list[str], dict, int | None]] = []

    def run(command: list[str], **kwargs: object) -> None:
        started.append((command, json.loads(str(kwargs["input"])), job_jvm.poll()))

    monkeypatch.setattr(class_archive.subprocess, "run", run)
    class_archive._write_after_exit(archive, {"spark.driver.memory": "2g"})
    ((command, request, job_jvm_exit),) = started
    assert command == [sys.executable, "-m", "jobs.runtime.class_archive"]
    assert request == {"archive": str(archive), "options": {"spark.driver.memory": "2g"}}
    assert job_jvm_exit == 0


def test_a_second_writer_leaves_it_to_the_first(cache: Path) -> None:
    """Two first runs at once: the one without the lock starts no JVM and writes nothing."""
    cache.mkdir()
    archive = cache / "a.jsa"
    with (cache / "a.lock").open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        class_archive.write_archive(archive, {"spark.master": "no-such-master"})
    assert sorted(path.name for path in cache.iterdir()) == ["a.lock"]


@pytest.mark.slow
def test_the_writer_publishes_an_archive_a_job_jvm_maps(tmp_path: Path) -> None:
    """The small JVM (512 MB heap) writes an archive that a job's JVM (2 GB) maps: with
    -Xshare:on a JVM that cannot map it does not start. Written where the suite's later
    fresh processes look, when there is none there yet (CI), so they need not write one."""
    from jobs.runtime import spark as factory

    session = {"spark.master": "local[2]", **factory.local_defaults(factory.SparkSettings())}
    java_options = session[factory.DRIVER_OPTIONS]
    archive = archive_path(factory.require_java(), java_options)
    if archive.exists():
        archive = tmp_path / "cache" / archive.name
    archive.parent.mkdir(parents=True, exist_ok=True)
    request = json.dumps({"archive": str(archive), "options": session})
    writer = [sys.executable, "-m", "jobs.runtime.class_archive"]
    done = subprocess.run(writer, input=request, text=True, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert archive.is_file() and not list(archive.parent.glob(f"{archive.stem}*.tmp"))
    child = textwrap.dedent(f"""
        from jobs.runtime import spark
        conf = spark.local_defaults(spark.SparkSettings())
        options = "-XX:SharedArchiveFile={archive} -Xshare:on"
        print(spark.start_session("mapped", "local[2]", conf, options).range(3).count())
    """)
    mapped = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert mapped.returncode == 0 and mapped.stdout.split() == ["3"], mapped.stderr[-3000:]


def test_a_jvm_that_will_not_start_with_the_archive_drops_it_and_starts_without(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A truncated archive crashes the JVM as it maps it (SIGBUS); the run must go on."""
    from pyspark import SparkContext
    from pyspark.errors import PySparkRuntimeError

    from jobs.runtime import spark as factory

    java_options = factory.local_defaults(factory.SparkSettings())[factory.DRIVER_OPTIONS]
    archive = archive_path(factory.require_java(), java_options)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"truncated")
    attempts: list[str] = []

    class Session:
        sparkContext = type("Context", (), {"setLogLevel": lambda self, level: None})()

    def session(app_name: str, master: str | None, conf: dict, archive_options: str) -> Session:
        attempts.append(archive_options)
        if archive_options:
            raise PySparkRuntimeError(errorClass="JAVA_GATEWAY_EXITED", messageParameters={})
        return Session()

    monkeypatch.setattr(factory, "start_session", session)
    monkeypatch.setattr(SparkContext, "_gateway", None)
    assert isinstance(factory.build_spark(factory.SparkSettings()), Session)
    first, second = attempts
    assert first.startswith(f"-XX:SharedArchiveFile={archive} ") and second == ""
    assert not archive.exists()


@pytest.mark.slow
def test_the_jvm_ignores_an_unusable_archive_quietly(tmp_path: Path) -> None:
    """Another JDK's or a garbage file: the JVM runs without it and prints nothing about it."""
    garbage = tmp_path / "garbage.jsa"
    garbage.write_bytes(b"\0" * 4096)
    child = textwrap.dedent(f"""
        import json
        from pathlib import Path
        from jobs.runtime import class_archive, spark
        class_archive.archive_path = lambda *_: Path({str(garbage)!r})
        session = spark.build_spark(spark.SparkSettings())
        print(json.dumps({{"rows": session.range(3).count()}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", child],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"rows": 3}
    assert "cds" not in done.stderr.lower() and not list(tmp_path.glob("hs_err*"))
