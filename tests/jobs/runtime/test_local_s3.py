"""The moto S3 server fixture: real HTTP on loopback, reached through the standard AWS settings."""

from __future__ import annotations

import os

import boto3
import pytest

pytestmark = pytest.mark.s3


def test_moto_server_round_trips_an_object_over_http(s3_endpoint: str) -> None:
    assert s3_endpoint.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == s3_endpoint
    client = boto3.client("s3")  # no endpoint argument: the environment is what users set
    client.create_bucket(Bucket="partner-drops")
    client.put_object(Bucket="partner-drops", Key="acme/universe-00000.csv.gz", Body=b"abc")
    listed = client.list_objects_v2(Bucket="partner-drops", Prefix="acme/")
    assert [item["Key"] for item in listed["Contents"]] == ["acme/universe-00000.csv.gz"]
    body = client.get_object(Bucket="partner-drops", Key="acme/universe-00000.csv.gz")["Body"]
    assert body.read() == b"abc"
