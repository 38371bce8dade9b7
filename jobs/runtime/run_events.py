"""OpenLineage run events: START when a job opens, COMPLETE or FAIL when it ends.

Each event names the run by its workflow_id and carries the datasets the run read and the
table versions and export files it wrote: their schema, row counts, version, usage labels
(as tags) and, for a delivery, the quality gate's assertions. Events hold column names,
paths and counts, never row values.

Where events go is the standard OpenLineage configuration (`OPENLINEAGE_CONFIG`, an
`openlineage.yml` in the working directory or `~/.openlineage/`, `OPENLINEAGE__TRANSPORT__*`,
`OPENLINEAGE_URL`); without any, they are appended to `<workspace>/logs/openlineage.jsonl`.
`OPENLINEAGE_DISABLED=true` turns them off. A transport that fails is logged, never fails
the job: lineage is a report on the run, not part of it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

    from jobs.config import Workspace

logger = logging.getLogger(__name__)

PRODUCER = "https://github.com/partnerkit/partnerkit"
DEFAULT_NAMESPACE = "partnerkit"
EVENTS_FILE = "logs/openlineage.jsonl"
LABEL_TAG = "usage_label"
# Environment variables or files that mean the user configured OpenLineage themselves.
CONFIG_VARIABLES = ("OPENLINEAGE_CONFIG", "OPENLINEAGE_URL")
CONFIG_PREFIX = "OPENLINEAGE__"
CONFIG_FILE = "openlineage.yml"


@dataclass
class DatasetNote:
    """What a run knows about one dataset it read or wrote."""

    uri: str
    fields: tuple[tuple[str, str], ...] = ()  # (column, type)
    rows: int | None = None
    version: str | None = None
    # (expectation, success, column) from a quality gate
    assertions: tuple[tuple[str, bool, str | None], ...] = ()
    # (label code, column or None for the whole dataset)
    labels: tuple[tuple[str, str | None], ...] = ()
    unit: str | None = None  # the warehouse table (or partition) it is a version of


def schema_fields(schema: Any) -> tuple[tuple[str, str], ...]:
    """A Spark StructType as (column, type) pairs."""
    return tuple((f.name, f.dataType.simpleString()) for f in schema.fields)


def dataset_identity(uri: str) -> tuple[str, str]:
    """OpenLineage's (namespace, name): `s3://bucket` + key, or `file` + absolute path."""
    if uri.startswith(("s3://", "s3a://")):
        bucket, _, key = uri.split("://", 1)[1].partition("/")
        return f"s3://{bucket}", key.rstrip("/")
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    if "://" in uri:
        scheme, _, rest = uri.partition("://")
        authority, _, path = rest.partition("/")
        return f"{scheme}://{authority}", path.rstrip("/")
    return "file", str(Path(uri).resolve())


def user_configured() -> bool:
    """Whether OpenLineage's own configuration (file or environment) says where events go."""
    if any(os.environ.get(name) for name in CONFIG_VARIABLES):
        return True
    if any(name.startswith(CONFIG_PREFIX + "TRANSPORT") for name in os.environ):
        return True
    return any(
        (folder / CONFIG_FILE).is_file() for folder in (Path.cwd(), Path.home() / ".openlineage")
    )


def disabled() -> bool:
    return os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true"


def make_client(workspace: Workspace) -> OpenLineageClient:
    """The user's OpenLineage transport, or a JSON Lines file in the workspace's logs."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport

    if user_configured():
        return OpenLineageClient()
    path = workspace.root / EVENTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return OpenLineageClient(
        transport=FileTransport(FileConfig(log_file_path=str(path), append=True))
    )


class RunEvents:
    """The OpenLineage events of one job run."""

    def __init__(self, workspace: Workspace, job: str, workflow_id: str) -> None:
        self.workspace = workspace
        self.job = job
        self.workflow_id = workflow_id
        self.namespace = os.environ.get("OPENLINEAGE_NAMESPACE") or DEFAULT_NAMESPACE
        self.name = f"{workspace.root.name}.{job}"
        self._client: OpenLineageClient | None = None

    def start(self) -> None:
        self._emit("START", [], [], None)

    def complete(self, inputs: Sequence[DatasetNote], outputs: Sequence[DatasetNote]) -> None:
        self._emit("COMPLETE", inputs, outputs, None)

    def fail(self, inputs: Sequence[DatasetNote], message: str) -> None:
        """A failed run committed nothing: its event has inputs and the error only."""
        self._emit("FAIL", inputs, [], message)

    def _emit(
        self,
        state: str,
        inputs: Sequence[DatasetNote],
        outputs: Sequence[DatasetNote],
        error: str | None,
    ) -> None:
        if disabled():
            return
        try:
            if self._client is None:
                self._client = make_client(self.workspace)
            # one labelling for both sides: it flattens the profile schema
            labelled = with_labels(self.workspace, [*inputs, *outputs])
            event = run_event(
                state,
                run_id=self.workflow_id,
                namespace=self.namespace,
                name=self.name,
                inputs=labelled[: len(inputs)],
                outputs=labelled[len(inputs) :],
                error=error,
            )
            self._client.emit(event)
        except Exception as failure:  # a lineage backend down must not fail the job
            logger.warning(
                "OpenLineage %s event for %s not sent: %s: %s",
                state,
                self.job,
                type(failure).__name__,
                failure,
            )


def run_event(
    state: str,
    *,
    run_id: str,
    namespace: str,
    name: str,
    inputs: Sequence[DatasetNote],
    outputs: Sequence[DatasetNote],
    error: str | None,
) -> Any:
    """One RunEvent built with the client's generated classes."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import (
        error_message_run,
        job_type_job,
        processing_engine_run,
    )

    run_facets: dict[str, Any] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=_version("pyspark"),
            name="spark",
            openlineageAdapterVersion=_version("partnerkit"),
        )
    }
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    job_facets = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="PARTNERKIT", jobType="JOB"
        )
    }
    return RunEvent(
        eventType=RunState[state],
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=namespace, name=name, facets=job_facets),
        producer=PRODUCER,
        inputs=[_dataset(n, read=True) for n in inputs],
        outputs=[_dataset(n, read=False) for n in outputs],
    )


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _dataset_facets(note: DatasetNote) -> dict[str, Any]:
    from openlineage.client.facet_v2 import (
        dataset_version_dataset,
        schema_dataset,
        tags_dataset,
    )

    facets: dict[str, Any] = {}
    if note.fields:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=column, type=kind)
                for column, kind in note.fields
            ]
        )
    if note.version:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=note.version
        )
    if note.labels:
        facets["tags"] = tags_dataset.TagsDatasetFacet(
            tags=[
                tags_dataset.TagsDatasetFacetFields(
                    key=LABEL_TAG, value=code, source="partnerkit", field=column
                )
                for code, column in note.labels
            ]
        )
    if note.assertions:
        from openlineage.client.facet_v2 import data_quality_assertions_dataset as dq

        facets["dataQualityAssertions"] = dq.DataQualityAssertionsDatasetFacet(
            assertions=[
                dq.Assertion(assertion=name, success=success, column=column)
                for name, success, column in note.assertions
            ]
        )
    return facets


def _dataset(note: DatasetNote, *, read: bool) -> Any:
    """An input (read) or output dataset, its row count in the matching statistics facet."""
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import input_statistics_input_dataset as read_stats
    from openlineage.client.facet_v2 import output_statistics_output_dataset as write_stats

    namespace, name = dataset_identity(note.uri)
    facets = _dataset_facets(note)
    if read:
        counted = (
            {}
            if note.rows is None
            else {
                "inputStatistics": read_stats.InputStatisticsInputDatasetFacet(rowCount=note.rows)
            }
        )
        return InputDataset(namespace=namespace, name=name, facets=facets, inputFacets=counted)
    counted = (
        {}
        if note.rows is None
        else {
            "outputStatistics": write_stats.OutputStatisticsOutputDatasetFacet(rowCount=note.rows)
        }
    )
    return OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets=counted)


def merged(notes: Iterable[DatasetNote]) -> list[DatasetNote]:
    """One note per dataset: a later note's known values fill in an earlier one's."""
    by_uri: dict[str, DatasetNote] = {}
    for note in notes:
        known = by_uri.get(note.uri)
        if known is None:
            by_uri[note.uri] = note
            continue
        by_uri[note.uri] = DatasetNote(
            uri=note.uri,
            fields=note.fields or known.fields,
            rows=note.rows if note.rows is not None else known.rows,
            version=note.version or known.version,
            assertions=known.assertions + note.assertions,
            labels=tuple(dict.fromkeys(known.labels + note.labels)),
            unit=note.unit or known.unit,
        )
    return list(by_uri.values())


def with_labels(workspace: Workspace, notes: Sequence[DatasetNote]) -> list[DatasetNote]:
    """Notes of warehouse tables with the usage labels the workspace's schema gives them."""
    units = {n.unit for n in notes if n.unit}
    if not units:
        return list(notes)
    from jobs.workspace_schema import table_labels

    try:
        labels = table_labels(workspace, units)
    except Exception as failure:  # a schema problem is reported by the job that reads it
        logger.warning("usage labels left out of lineage events: %s", type(failure).__name__)
        return list(notes)
    return [
        replace(n, labels=tuple(dict.fromkeys(n.labels + labels.get(n.unit, ())))) if n.unit else n
        for n in notes
    ]
