"""The policy_evaluate job through its command: a dataset's labels decide, the ledger keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.ledger import Ledger
from jobs.cli.app import run_cli
from jobs.config import load_workspace, write_starter_workspace


def test_policy_evaluate_on_a_dataset_blocks_with_exit_3_and_is_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_starter_workspace(tmp_path, force=False)
    argv = [
        "policy",
        "evaluate",
        "--workspace",
        str(tmp_path),
        "--action",
        "emailTargeting",
        "--dataset",
        "partner/acme",
        "--fields",
        "_partner.acme.demographic.ageRange",
        "--json",
    ]
    assert run_cli(argv) == 3
    evaluation = json.loads(capsys.readouterr().out)
    (violation,) = evaluation["violations"]
    assert violation["policy_id"] == "contract_acme"
    assert violation["chains"][0].endswith(
        "-> action emailTargeting -> label acme_contract (dataset label) -> dataset partner/acme"
    )
    ledger = Ledger(load_workspace(tmp_path).ledger_path)
    (run,) = ledger.runs(job="policy_evaluate")
    (event,) = ledger.events(run.workflow_id)
    assert event["kind"] == "policy_evaluation" and event["payload"]["action"] == "emailTargeting"
    assert run_cli(["policy", "evaluate", "--action", "analytics", "--labels", "C4"]) == 0
