"""Policy evaluation semantics, each on its own: OR, AND, drafts, datasets vs fields, chains."""

from __future__ import annotations

import pytest

from governance.catalogs import build_governance
from governance.errors import UnknownLabelError
from governance.models import Label, Policy
from governance.policies import (
    DatasetView,
    UnknownDatasetFieldError,
    dataset_uses,
    evaluate_policies,
    requested_uses,
)
from schemas.models import LabelRef

GOVERNANCE = build_governance(
    labels=[Label(code="X1", name="Custom", description="d")],
    policies=[
        Policy.model_validate(
            {
                "id": "draft_rule",
                "name": "Draft",
                "status": "draft",
                "marketing_actions": ["analytics"],
                "deny": {"label": "X1"},
            }
        ),
        Policy.model_validate(
            {
                "id": "off_rule",
                "name": "Off",
                "status": "disabled",
                "marketing_actions": ["analytics"],
                "deny": {"label": "C8"},
            }
        ),
    ],
)
DATASETS = {
    "partner/acme": DatasetView(
        labels=("3PD",),
        fields={
            "_partner.acme.demographic.ageRange": (
                LabelRef(code="3PD", origin="dataset", source="partner/acme"),
                LabelRef(code="C9", origin="field", source="_partner.acme.demographic.ageRange"),
            ),
            "_partner.acme.financial.recentMortgage": (
                LabelRef(code="C4", origin="field_group", source="field_groups/partner_financial"),
            ),
        },
    )
}


def test_or_policy_fires_on_one_of_its_labels() -> None:
    evaluation = evaluate_policies(GOVERNANCE, "emailTargeting", requested_uses(["C5", "I1"]))
    (violation,) = evaluation.violations
    assert violation.policy_id == "restrict_email_targeting"
    assert [use.code for use in violation.matched] == ["C5"]
    assert not evaluation.allowed


def test_and_policy_needs_all_labels_in_one_evaluation() -> None:
    both = evaluate_policies(GOVERNANCE, "combineWithPII", requested_uses(["C3", "I1"]))
    assert [v.policy_id for v in both.violations] == [
        "restrict_combining_identifiable_with_anonymous"
    ]
    assert sorted(u.code for u in both.violations[0].matched) == ["C3", "I1"]
    # the same two labels seen in two separate evaluations never fire the AND policy
    first = evaluate_policies(GOVERNANCE, "combineWithPII", requested_uses(["C3"]))
    second = evaluate_policies(GOVERNANCE, "combineWithPII", requested_uses(["I1"]))
    assert first.allowed and second.allowed


def test_drafts_are_evaluated_only_on_request_and_disabled_never() -> None:
    uses = requested_uses(["X1", "C8"])
    assert evaluate_policies(GOVERNANCE, "analytics", uses).allowed
    with_drafts = evaluate_policies(GOVERNANCE, "analytics", uses, include_drafts=True)
    assert [v.policy_id for v in with_drafts.violations] == ["draft_rule"]


def test_field_labels_count_only_for_fields_passed_dataset_labels_always() -> None:
    none = dataset_uses(DATASETS, {"partner/acme": []})
    assert {u.code for u in none} == {"3PD"}
    assert evaluate_policies(GOVERNANCE, "dataScience", none).allowed
    age = dataset_uses(DATASETS, {"partner/acme": ["_partner.acme.demographic.ageRange"]})
    evaluation = evaluate_policies(GOVERNANCE, "dataScience", age)
    (violation,) = evaluation.violations
    assert evaluation.labels_by_dataset == {"partner/acme": ["3PD"]}
    assert evaluation.labels_by_field == {
        "partner/acme": {"_partner.acme.demographic.ageRange": ["C9"]}
    }
    assert violation.chains == (
        "policy restrict_data_science (Restrict data science) -> condition C9 -> action "
        "dataScience -> label C9 -> field _partner.acme.demographic.ageRange -> dataset "
        "partner/acme",
    )
    assert violation.remedies[0] == (
        "drop field _partner.acme.demographic.ageRange (label C9) from what is used"
    )


def test_field_group_label_chain_names_the_group() -> None:
    uses = dataset_uses(DATASETS, {"partner/acme": ["_partner.acme.financial.recentMortgage"]})
    (violation,) = evaluate_policies(GOVERNANCE, "onsiteAdvertising", uses).violations
    assert (
        "label C4, from field group field_groups/partner_financial -> field"
        in (violation.chains[0])
    )


def test_dataset_label_violation_suggests_leaving_the_dataset_out() -> None:
    uses = dataset_uses({"seeds": DatasetView(labels=("C12",), fields={})}, {"seeds": []})
    (violation,) = [
        v
        for v in evaluate_policies(GOVERNANCE, "segmentMatch", uses).violations
        if v.policy_id == "restrict_data_export"
    ]
    assert violation.chains[0].endswith("label C12 (dataset label) -> dataset seeds")
    assert violation.remedies[0].startswith("leave dataset seeds out")


def test_unknown_label_action_dataset_or_field_is_named() -> None:
    with pytest.raises(UnknownLabelError, match="--labels: unknown label c4"):
        evaluate_policies(GOVERNANCE, "emailTargeting", requested_uses(["c4"]), where="--labels")
    with pytest.raises(UnknownLabelError, match="unknown marketing action emailTargetting"):
        evaluate_policies(GOVERNANCE, "emailTargetting", requested_uses(["C4"]))
    with pytest.raises(UnknownDatasetFieldError, match="unknown dataset 'partner/beta'"):
        dataset_uses(DATASETS, {"partner/beta": []})
    with pytest.raises(UnknownDatasetFieldError, match="unknown field of partner/acme 'x.y'"):
        dataset_uses(DATASETS, {"partner/acme": ["x.y"]})
