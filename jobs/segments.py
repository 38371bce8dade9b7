"""The segments job: evaluate segment predicates over `profiles`, write `segments/<name>`."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ingest.audiences.exports import segment_membership
from jobs.config import Workspace
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.catalogue import SEGMENTS_TABLE
from jobs.warehouse.tables import read_profiles, write_table
from jobs.workspace_schema import parse_segment

JOB = "segments"


def run(workspace: Workspace, spark: SparkSession, *, name: str | None = None) -> JobResult:
    """Evaluate every segment (or one); counts of members per segment."""
    segments = [workspace.segment(name)] if name else list(workspace.config.segments)
    parsed = {segment.name: parse_segment(workspace, segment) for segment in segments}
    with open_run(workspace, JOB, spark=spark) as job:
        profiles = read_profiles(spark, workspace.warehouse)
        job.counts["profiles"] = profiles.count()
        for segment in segments:
            members = segment_membership(profiles, parsed[segment.name].sql)
            path = write_table(members, job, f"{SEGMENTS_TABLE}/{segment.name}")
            job.outputs[f"{SEGMENTS_TABLE}.{segment.name}"] = path
            job.counts[segment.name] = {
                "members": spark.read.parquet(path).count(),
                "fields": list(parsed[segment.name].fields),
            }
    return job.result()
