"""The SparkSession factory: master precedence, local defaults, and a readable Java check."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from py4j.protocol import MEMORY_COMMAND_NAME, MEMORY_DEL_SUBCOMMAND_NAME
from pydantic import ValidationError
from pyspark.sql import SparkSession

from jobs.errors import JavaUnavailableError
from jobs.runtime.spark import (
    MASTER_ENV,
    MIN_JAVA_MAJOR,
    SPARK_SUBMIT_ENV,
    SparkSettings,
    is_local_master,
    java_major_version,
    require_java,
    resolve_master,
)


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ("no version here", None),
    ],
)
def test_java_major_version_reads_old_and_new_schemes(output: str, major: int | None) -> None:
    assert java_major_version(output) == major


def test_require_java_explains_missing_java_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-such-jdk"))
    with pytest.raises(JavaUnavailableError) as caught:
        require_java()
    message = str(caught.value)
    assert message.startswith("Spark needs Java, but none was found on JAVA_HOME")
    assert "install Java 17 or newer" in message
    assert message.count("\n") == 0


def test_require_java_rejects_java_8(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'java version \"1.8.0_392\"' >&2\n", encoding="utf-8")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(JavaUnavailableError, match=r"Spark 4 needs Java 17\+, but .* is Java 8"):
        require_java()


def test_require_java_accepts_this_machine_java() -> None:
    major = java_major_version(require_java())
    assert major is not None and major >= MIN_JAVA_MAJOR


def test_resolve_master_prefers_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_ENV, "spark://127.0.0.1:7077")
    assert resolve_master("local[1]") == "local[1]"
    assert resolve_master(None) == "spark://127.0.0.1:7077"
    monkeypatch.delenv(MASTER_ENV)
    assert resolve_master(None) is None


def test_is_local_master_leaves_spark_submit_choice_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPARK_SUBMIT_ENV, raising=False)
    assert is_local_master(None)
    assert is_local_master("local[2]")
    assert not is_local_master("spark://127.0.0.1:7077")
    monkeypatch.setenv(SPARK_SUBMIT_ENV, "40000")
    assert not is_local_master(None)


def test_spark_settings_reject_non_spark_conf_keys() -> None:
    with pytest.raises(ValidationError, match="must start with 'spark.'"):
        SparkSettings(conf={"master": "local"})


def test_build_spark_applies_local_defaults(spark: SparkSession) -> None:
    conf = spark.conf
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.sparkContext.getConf().get("spark.ui.enabled") == "false"
    assert spark.sparkContext.master == "local[2]"
    assert os.environ.get("SPARK_LOCAL_IP") == "127.0.0.1"


def test_the_local_jvm_does_not_cache_large_nio_buffers(spark: SparkSession) -> None:
    """The driver options reach the JVM: without the cap each task thread keeps a direct
    buffer as large as its largest file read (240 MB of an ingest's native memory)."""
    system = spark.sparkContext._jvm.java.lang.System
    assert system.getProperty("jdk.nio.maxCachedBufferSize") == "262144"


# py4j's command that releases a JVM object when its Python proxy is collected: it can come at
# any moment (a finalizer), so it is not part of what a column function costs.
FREE_JVM_OBJECT = MEMORY_COMMAND_NAME + MEMORY_DEL_SUBCOMMAND_NAME


def test_a_column_function_is_one_jvm_call(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """py4j finds the class and method, then calls it: three commands. Spark's call-site capture
    would add ten more to every column function (a job builds thousands)."""
    from pyspark.sql import functions as F

    F.col("warm_up")  # pyspark reads the setting once per process, on first use
    client = spark.sparkContext._gateway._gateway_client  # type: ignore[union-attr]
    commands: list[str] = []
    send = client.send_command

    def counted(command: str, *args: object, **kwargs: object) -> object:
        if not command.startswith(FREE_JVM_OBJECT):  # garbage collection of earlier objects
            commands.append(command)
        return send(command, *args, **kwargs)

    monkeypatch.setattr(client, "send_command", counted)
    F.col("profile_id")
    assert [c.split("\n")[:3][-1] for c in commands] == ["org.apache.spark.sql.functions"] * 2 + [
        "col"
    ]
