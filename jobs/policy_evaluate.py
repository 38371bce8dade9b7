"""The policy_evaluate job: is a marketing action allowed on labels or a dataset's fields, and why.

Run against a workspace, every evaluation is an audit record: a run with one event.
"""

from __future__ import annotations

from collections.abc import Sequence

from governance.catalogs import Governance
from governance.policies import Evaluation, evaluate_policies, requested_uses
from ingest.ledger import Ledger
from jobs.config import Workspace
from jobs.runtime.runs import record_run
from jobs.workspace_schema import evaluate_on_workspace

JOB = "policy_evaluate"


def run(
    workspace: Workspace | None,
    governance: Governance,
    *,
    action: str,
    labels: Sequence[str] = (),
    dataset: str | None = None,
    fields: Sequence[str] = (),
    include_drafts: bool = False,
) -> Evaluation:
    """Evaluate `action` on the labels given plus those of `dataset`'s `fields` (all if none).

    A dataset needs a workspace; the caller checks that something was given to evaluate.
    """
    if workspace is None:
        return evaluate_policies(
            governance,
            action,
            requested_uses(labels),
            include_drafts=include_drafts,
            where="--labels",
        )
    evaluation = evaluate_on_workspace(
        workspace,
        governance,
        action,
        labels=labels,
        dataset=dataset,
        fields=fields,
        include_drafts=include_drafts,
    )
    ledger = Ledger(workspace.ledger_path)
    with record_run(ledger, JOB) as job:
        ledger.record_event(job.workflow_id, "policy_evaluation", evaluation.model_dump())
        job.counts["violations"] = len(evaluation.violations)
    return evaluation
