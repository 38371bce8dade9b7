"""Data science uses of partner data (ICP, lookalikes): the fields they read and the policy check.

Both are `dataScience` uses: the fields they read are evaluated against the policies before
any row is touched, and the evaluation is an audit event of the run.
"""

from __future__ import annotations

from governance.lineage import leaves_under
from governance.policies import Evaluation, dataset_uses, evaluate_policies
from ingest.ledger import Ledger
from jobs.config import Workspace
from jobs.runtime.runs import JobResult, RunContext
from jobs.workspace_schema import (
    SEEDS_DATASET,
    partner_dataset,
    profile_fields,
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
    """Evaluate `dataScience` over the partner fields used (and a segment's), and audit it."""
    views = workspace_datasets(workspace, profile_fields(workspace))
    requested: dict[str, list[str]] = {partner_dataset(partner): list(fields)}
    for path in segment_fields:
        dataset = path.split(".")[1] if path.startswith("_partner.") else None
        key = partner_dataset(dataset) if dataset else SEEDS_DATASET
        requested.setdefault(key, []).extend(leaves_under(path, views[key].fields))
    evaluation = evaluate_policies(
        workspace_governance(workspace),
        DATA_SCIENCE,
        dataset_uses(views, requested),
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
