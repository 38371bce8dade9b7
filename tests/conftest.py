"""Shared fixtures: one SparkSession for the whole run, and a moto S3 server on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

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
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto checks no signatures; any credentials do, as long as boto3 finds some.
    overrides = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
