"""Data science uses of partner data (ICP, lookalikes): the fields they read and the policy check.

Both are `dataScience` uses: the fields they read are evaluated against the policies before
any row is touched, and the evaluation is an audit event of the run.
"""

from __future__ import annotations

from governance.activation import lineage_uses
from governance.policies import Evaluation, dataset_uses, evaluate_policies
from ingest.ledger import Ledger
from jobs.config import Workspace
from jobs.runtime.runs import JobResult, RunContext
from jobs.workspace_schema import (
    partner_dataset,
    profile_fields,
    usage_lineage,
    workspace_datasets,
    workspace_governance,
)

DATA_SCIENCE = "dataScience"
POLICY_EVENT = "policy_evaluation"


def attribute_fields(workspace: Workspace, partner: str) -> dict[str, tuple[str, str]]:
    """Attribute name -> (profile field path, domain) of a partner's enrichment."""
    return {
        f.partner_attribute: (f.path, f.domain or "")
        for f in profile_fields(workspace)
        if f.partner == partner and f.partner_attribute
    }


def evaluate_data_science(
    workspace: Workspace,
    job: RunContext,
    partner: str,
    fields: list[str],
    segment_fields: tuple[str, ...] = (),
) -> Evaluation:
    """Evaluate `dataScience` over the partner's universe (its dataset labels), the fields
    analysed and a segment's predicate (the lineage activation decides from), and audit it."""
    profile = profile_fields(workspace)
    views = workspace_datasets(workspace, profile)
    lineage = usage_lineage(
        workspace, analysed_fields=fields, predicate_fields=segment_fields, fields=profile
    )
    universe = dataset_uses(views, {partner_dataset(partner): []})
    evaluation = evaluate_policies(
        workspace_governance(workspace),
        DATA_SCIENCE,
        [*universe, *lineage_uses(views, lineage)],
        where=f"{job.job}",
    )
    Ledger(workspace.ledger_path).record_event(
        job.workflow_id, POLICY_EVENT, evaluation.model_dump(mode="json")
    )
    return evaluation


def refused(job: RunContext, evaluation: Evaluation) -> JobResult:
    job.counts["allowed"] = False
    job.counts["chains"] = [c for v in evaluation.violations for c in v.chains]
    job.counts["remedies"] = list(
        dict.fromkeys(r for v in evaluation.violations for r in v.remedies)
    )
    return job.result()
