"""OpenLineage events: where they go (default file, HTTP, disabled), FAIL events, and a
lineage backend that fails without failing the job."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jobs.config import write_starter_workspace
from jobs.runtime.run_events import EVENTS_FILE, DatasetNote, dataset_identity, merged
from tests.conftest import Cli
from tests.openlineage_spec import spec_errors


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A starter workspace, with no OpenLineage configuration around it.

    The client copies OPENLINEAGE_URL into `OPENLINEAGE__TRANSPORT__*` variables of this
    process; they are removed after the test, so later tests see no configuration.
    """
    for name in [n for n in os.environ if n.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ws"
    write_starter_workspace(root, force=False)
    yield root
    for name in [n for n in os.environ if n.startswith("OPENLINEAGE")]:
        del os.environ[name]


def events_in(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class Receiver(BaseHTTPRequestHandler):
    """An OpenLineage HTTP endpoint: keeps each POSTed event with the path it came to."""

    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802 (the handler's API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    received: list[tuple[str, dict[str, Any]]] = []
    handler = type("Handler", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_without_configuration_events_go_to_the_workspace_log(workspace: Path, cli: Cli) -> None:
    checked = cli("check", "--workspace", str(workspace), "--json")
    assert checked.code == 0, checked.stderr
    events = events_in(workspace / EVENTS_FILE)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {e["run"]["runId"] for e in events} == {checked.json()["workflow_id"]}
    assert events[0]["job"] == {**events[0]["job"], "namespace": "partnerkit", "name": "ws.steward"}
    assert [error for event in events for error in spec_errors(event)] == []


def test_with_openlineage_url_events_are_posted_to_it(
    workspace: Path, cli: Cli, receiver: tuple[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = receiver
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "brand-cdp")
    checked = cli("check", "--workspace", str(workspace), "--json")
    assert checked.code == 0, checked.stderr
    assert [(path, e["eventType"]) for path, e in received] == [
        ("/api/v1/lineage", "START"),
        ("/api/v1/lineage", "COMPLETE"),
    ]
    assert {e["run"]["runId"] for _, e in received} == {checked.json()["workflow_id"]}
    assert {e["job"]["namespace"] for _, e in received} == {"brand-cdp"}
    assert [error for _, event in received for error in spec_errors(event)] == []
    assert not (workspace / EVENTS_FILE).exists()


def test_a_failed_run_sends_fail_with_the_error_and_no_outputs(workspace: Path, cli: Cli) -> None:
    delivery = workspace / "data" / "partners" / "acme"
    delivery.mkdir(parents=True)
    (delivery / "universe-00000.csv").write_text("person_id\n")  # a header, no rows
    ingested = cli("ingest", "--workspace", str(workspace), "--partner", "acme")
    assert ingested.code != 0 and "missing mapped column" in ingested.stderr, ingested.stderr
    start, fail = events_in(workspace / EVENTS_FILE)
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    assert fail["outputs"] == []
    assert "acme" in fail["run"]["facets"]["errorMessage"]["message"]
    assert spec_errors(fail) == []


def test_a_broken_transport_is_reported_and_the_job_still_succeeds(
    workspace: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(workspace / "no" / "x.json"))
    checked = cli("check", "--workspace", str(workspace), "--json")
    assert checked.code == 0, checked.stderr
    warnings = " ".join(checked.stderr.split())
    assert "OpenLineage START event for steward not sent: RuntimeError" in warnings
    assert "OpenLineage COMPLETE event for steward not sent: RuntimeError" in warnings


def test_openlineage_disabled_sends_nothing(
    workspace: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert cli("check", "--workspace", str(workspace), "--json").code == 0
    assert not (workspace / EVENTS_FILE).exists()


def test_datasets_are_named_as_openlineage_names_them(tmp_path: Path) -> None:
    assert dataset_identity("s3://bucket/deliveries/acme/") == ("s3://bucket", "deliveries/acme")
    assert dataset_identity("s3a://bucket/key.csv") == ("s3://bucket", "key.csv")
    assert dataset_identity(f"file://{tmp_path}/x") == ("file", f"{tmp_path}/x")
    assert dataset_identity("hdfs://namenode:8020/w/profiles") == (
        "hdfs://namenode:8020",
        "w/profiles",
    )


def test_notes_of_one_dataset_merge_into_one() -> None:
    first = DatasetNote(
        uri="/w/partner/acme", fields=(("partner_id", "string"),), unit="partner/acme"
    )
    second = DatasetNote(uri="/w/partner/acme", rows=12, labels=(("3PD", None),))
    (note,) = merged([first, second])
    assert (note.fields, note.rows, note.labels, note.unit) == (
        (("partner_id", "string"),),
        12,
        (("3PD", None),),
        "partner/acme",
    )
