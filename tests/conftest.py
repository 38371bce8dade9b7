"""Shared fixtures: one SparkSession for the whole run, and a moto S3 server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from jobs.local_s3 import local_s3_server
from jobs.spark import SparkSettings, build_spark


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The production factory with test settings; built once because a start costs ~10 s."""
    settings = SparkSettings(
        app_name="partnerkit-tests",
        master="local[2]",  # CI has 2 cores
        shuffle_partitions=2,  # inline DataFrames are tiny; 200 partitions would be 200 tasks
        warehouse_dir=str(tmp_path_factory.mktemp("spark-warehouse")),
    )
    spark = build_spark(settings)
    yield spark
    spark.stop()


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
