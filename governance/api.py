"""Policy decisions from Python: is a marketing action allowed on data with these labels?

The same evaluation `partnerkit policy evaluate` and every activation run: each enabled
policy that restricts the action, with the chain from policy to label to field and the
remedies. Without a workspace, the bundled labels, actions and policies are in force; a
workspace's own (its partners' contracts included) come from `jobs.api.workspace_policies`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from governance.catalogs import Governance, build_governance
from governance.policies import Evaluation, LabelUse, evaluate_policies, requested_uses

__all__ = ["Evaluation", "bundled_policies", "evaluate_action"]


def bundled_policies() -> Governance:
    """The labels, marketing actions and policies partnerkit ships."""
    return build_governance(origin="bundled")


def evaluate_action(
    action: str,
    *,
    labels: Iterable[str] = (),
    fields: Mapping[str, Iterable[str]] | None = None,
    dataset: str = "dataframe",
    governance: Governance | None = None,
) -> Evaluation:
    """Evaluate `action` (e.g. `exportToThirdParty`) on labels of the data as a whole and on
    `fields` (field -> its labels) of `dataset`. `Evaluation.allowed` is the answer; each
    violation names its policy, the labels that fired it, the chains and the remedies."""
    uses = requested_uses(labels)
    for path, codes in (fields or {}).items():
        uses += [
            LabelUse(code=code, origin="field", dataset=dataset, field=path, source=path)
            for code in codes
        ]
    return evaluate_policies(governance or bundled_policies(), action, uses, where="labels")
