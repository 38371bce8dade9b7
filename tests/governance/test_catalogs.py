"""Governance catalogs: bundled YAML, workspace additions and every validation error, no Spark."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from governance.catalogs import build_governance, bundled_catalogs, contract_terms
from governance.errors import CatalogError
from governance.models import Label, LabelExpression, MarketingAction, Policy


def policy(**overrides: object) -> Policy:
    data = {
        "id": "p",
        "name": "P",
        "marketing_actions": ["emailTargeting"],
        "deny": {"label": "C4"},
    }
    return Policy.model_validate({**data, **overrides})


def test_bundled_catalogs_hold_adobe_labels_actions_and_core_policies() -> None:
    governance = build_governance()
    expected = {f"C{n}" for n in range(1, 13)} | {"I1", "I2", "S1", "S2", "PSPD", "RHD", "3PD"}
    assert set(governance.labels) == expected
    assert governance.labels["3PD"].name == "Third-Party"
    assert len(governance.actions) == 10 and "singleIdentityPersonalization" in governance.actions
    conditions = {p.id: (p.deny.describe(), p.marketing_actions) for p in governance.policies}
    assert conditions["restrict_email_targeting"] == ("(C4 OR C5)", ("emailTargeting",))
    assert conditions["restrict_combining_identifiable_with_anonymous"] == (
        "(C3 AND I1)",
        ("combineWithPII",),
    )
    assert conditions["restrict_data_sharing"] == ("C11", ("segmentMatch",))
    assert all(p.status == "enabled" for p in governance.policies)
    assert conditions["no_third_party_resale"] == ("3PD", ("exportToThirdParty", "segmentMatch"))
    assert len(bundled_catalogs()[2].policies) == 10  # Adobe's nine and the resale policy


def test_condition_is_a_label_or_an_operator_never_both() -> None:
    with pytest.raises(ValidationError, match="either"):
        LabelExpression.model_validate({"label": "C4", "operator": "OR", "operands": []})
    with pytest.raises(ValidationError, match="at least one operand"):
        LabelExpression.model_validate({"operator": "AND", "operands": []})
    with pytest.raises(ValidationError):
        LabelExpression.model_validate({"operator": "XOR", "operands": [{"label": "C4"}]})


def test_policy_naming_unknown_labels_and_actions_lists_every_problem() -> None:
    bad = [
        policy(id="lower_case", deny={"label": "c4"}),
        policy(
            id="nested",
            deny={
                "operator": "OR",
                "operands": [{"label": "C4"}, {"operator": "AND", "operands": [{"label": "ZZ"}]}],
            },
        ),
        policy(id="no_action", marketing_actions=["smsTargeting"]),
    ]
    with pytest.raises(CatalogError) as raised:
        build_governance(policies=bad)
    problems = raised.value.problems
    assert problems == [
        "policy lower_case (workspace): unknown label(s) c4 (codes are case-sensitive)",
        "policy nested (workspace): unknown label(s) ZZ (codes are case-sensitive)",
        "policy no_action (workspace): unknown marketing action(s) smsTargeting",
    ]


def test_duplicate_label_code_is_a_problem() -> None:
    with pytest.raises(CatalogError, match="label C4 is already defined"):
        build_governance(labels=[Label(code="C4", name="again", description="d")])


def test_workspace_adds_labels_actions_and_replaces_a_core_policy_by_id() -> None:
    governance = build_governance(
        labels=[Label(code="X1", name="Custom", description="d")],
        actions=[MarketingAction(name="smsTargeting", description="d")],
        policies=[
            policy(
                id="restrict_data_science",
                marketing_actions=["dataScience"],
                deny={"label": "X1"},
                status="disabled",
            ),
            policy(id="no_sms", marketing_actions=["smsTargeting"], deny={"label": "X1"}),
        ],
    )
    assert governance.labels["X1"].category == "custom"
    replaced = governance.policy("restrict_data_science")
    assert replaced is not None and replaced.status == "disabled"
    assert governance.origins["policy:restrict_data_science"] == "workspace"
    assert governance.policy("no_sms") is not None


def test_contract_terms_become_a_dataset_label_and_a_policy() -> None:
    label, contract = contract_terms("acme", ["emailTargeting", "dataScience"])
    assert label.code == "acme_contract" and label.category == "contract"
    assert "emailTargeting, dataScience" in label.description
    assert contract.marketing_actions == ("emailTargeting", "dataScience")
    assert contract.deny.label == "acme_contract"
    governance = build_governance(labels=[label], policies=[contract])
    assert governance.policy("contract_acme") is not None
