"""The driver JVM's class archive: which options a run gets, and how a draft is published."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jobs.runtime import class_archive as class_archive
from jobs.runtime.class_archive import ARCHIVE_ENV, archive_java_options, archive_path

JAVA = 'openjdk version "17.0.15" 2025-04-15'


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(ARCHIVE_ENV, raising=False)
    return tmp_path / "partnerkit"


def test_first_run_asks_the_jvm_to_write_a_draft_and_publishes_it_at_exit(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered = []
    monkeypatch.setattr(class_archive.atexit, "register", lambda *a: registered.append(a))
    options = archive_java_options(JAVA, "-XX:+UseParallelGC")
    archive = archive_path(JAVA, "-XX:+UseParallelGC")
    draft = cache / f"{archive.stem}.{os.getpid()}.tmp"
    assert options.startswith(f"-XX:ArchiveClassesAtExit={draft} ")
    assert registered == [(class_archive._publish_at_exit, draft, archive)]


def test_later_runs_map_the_archive_and_other_options_get_their_own(cache: Path) -> None:
    archive = archive_path(JAVA, "-XX:+UseParallelGC")
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    assert archive_java_options(JAVA, "-XX:+UseParallelGC").startswith(
        f"-XX:SharedArchiveFile={archive} "
    )
    assert archive_path(JAVA, "-XX:+UseSerialGC") != archive
    assert archive_path('openjdk version "21"', "-XX:+UseParallelGC") != archive


def test_the_archive_can_be_turned_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARCHIVE_ENV, "off")
    assert archive_java_options(JAVA, "") == ""
    assert not cache.exists()


def test_publish_renames_the_draft_once_the_jvm_has_exited(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in JVM that, like the gateway, writes its archive when its stdin closes."""
    from pyspark import SparkContext

    cache.mkdir()
    draft, archive = cache / "a.123.tmp", cache / "a.jsa"
    writer = f"import sys; sys.stdin.read(); open({str(draft)!r}, 'wb').write(b'classes')"
    process = subprocess.Popen([sys.executable, "-c", writer], stdin=subprocess.PIPE)
    monkeypatch.setattr(SparkContext, "_gateway", type("Gateway", (), {"proc": process})())
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    class_archive._publish_at_exit(draft, archive)
    assert archive.read_bytes() == b"classes" and not draft.exists()


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

    monkeypatch.setattr(factory, "_session", session)
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
