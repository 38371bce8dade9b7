"""ICP and lookalike are dataScience uses: refused with the chain when a label forbids it."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from ingest.ledger import Ledger
from jobs import icp
from tests.conftest import EditConfig


def test_icp_on_a_partner_labelled_c9_is_refused_explained_and_audited(
    spark: SparkSession, tmp_path: Path, edit_config: EditConfig
) -> None:
    workspace = edit_config(tmp_path, lambda data: data["partners"][0].update(labels=["3PD", "C9"]))

    result = icp.run(workspace, spark, partner="acme")
    assert result.counts["allowed"] is False
    assert result.counts["chains"][0] == (
        "policy restrict_data_science (Restrict data science) -> condition C9 -> action "
        "dataScience -> label C9 (dataset label) -> dataset partner/acme"
    )
    assert "members" not in result.counts  # nothing was read
    (run,) = Ledger(workspace.ledger_path).runs(job="icp")
    (event,) = Ledger(workspace.ledger_path).events(run.workflow_id)
    assert event["kind"] == "policy_evaluation" and event["payload"]["action"] == "dataScience"


def test_contract_forbidding_data_science_refuses_icp(
    spark: SparkSession, tmp_path: Path, edit_config: EditConfig
) -> None:
    workspace = edit_config(
        tmp_path,
        lambda data: data["partners"][0]["contract"].update(forbidden_actions=["dataScience"]),
    )
    result = icp.run(workspace, spark, partner="acme")
    assert result.counts["allowed"] is False
    assert any("contract_acme" in chain for chain in result.counts["chains"])
