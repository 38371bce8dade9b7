"""Spark's own words: scrubbed of the values they quote, in a log file, one sentence shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from jobs.runtime.logs import error_class, record_spark_failure, scrub

# What Spark's messages look like when they quote customer data (from a real ANSI cast error
# and a malformed CSV record).
QUOTED = [
    "[CAST_INVALID_INPUT] The value 'jane.doe+shop@example.org' of the type \"STRING\" cannot "
    'be cast to "BIGINT" because it is malformed.',
    "Malformed record: [C1,jane.doe@example.org,(201) 555-0100,1 Main St]",
    'The value \'+44 7700 900413\' of the type "STRING" cannot be cast to "INT"',
]
PLAINTEXT = ["jane.doe+shop@example.org", "jane.doe@example.org", "555-0100", "7700 900413"]


def test_scrub_leaves_no_quoted_value_email_or_phone() -> None:
    scrubbed = [scrub(line) for line in QUOTED]
    assert not [p for p in PLAINTEXT for line in scrubbed if p in line]
    assert scrubbed[0].startswith("[CAST_INVALID_INPUT] The value '<value>' of the type")
    assert "Malformed record: [C1,<email>,<number>,1 Main St]" == scrubbed[1]


def test_the_jvm_log_is_scrubbed_exactly_as_the_python_twin_does(
    spark: SparkSession, spark_log_file: Path
) -> None:
    log = spark_log_file
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    marker = "partnerkit-log-test"
    for line in QUOTED:
        jvm.org.apache.logging.log4j.LogManager.getLogger(marker).error(line)
    written = [
        line.split(f"{marker} [", 1)[1].split("]: ", 1)[1]
        for line in log.read_text(encoding="utf-8").splitlines()
        if f" {marker} [" in line
    ]
    assert written[-len(QUOTED) :] == [scrub(line) for line in QUOTED]


def test_a_spark_error_becomes_one_sentence_and_a_scrubbed_log_entry(
    spark: SparkSession, tmp_path: Path
) -> None:
    with pytest.raises(PySparkException) as caught:
        spark.sql("SELECT CAST('jane.doe@example.org' AS BIGINT) AS n").collect()
    assert "jane.doe@example.org" in str(caught.value)  # what Spark itself would have printed
    log = tmp_path / "spark.log"
    sentence = record_spark_failure(log, caught.value)
    assert sentence == (
        f"Spark could not run the command (CAST_INVALID_INPUT); the details are in {log}"
    )
    assert error_class(caught.value) == "CAST_INVALID_INPUT"
    detail = log.read_text(encoding="utf-8")
    assert "CAST_INVALID_INPUT" in detail and "jane.doe@example.org" not in detail
