"""Segment predicates (accepted and rejected, with positions) and activation decisions."""

from __future__ import annotations

import pytest

from governance.activation import LineageItem, build_lineage, decide_activation, describe_changes
from governance.catalogs import build_governance
from governance.errors import SegmentError
from governance.lineage import field_paths_with_parents, leaves_under, parse_predicate
from governance.models import Label, Policy
from governance.policies import DatasetView
from schemas.models import LabelRef

LEAVES = [
    "loyalty.tier",
    "person.name.firstName",
    "_partner.acme.financial.householdNetWorthRange",
    "_partner.acme.lifestyle.isHomeOwner",
    "personalEmail.address",
    "identityMap",
]
KNOWN = field_paths_with_parents(LEAVES)


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            "_partner.acme.financial.householdNetWorthRange IN ('$500K-$1M', '$1M+') "
            "AND _partner.acme.lifestyle.isHomeOwner = 'Yes'",
            (
                "_partner.acme.financial.householdNetWorthRange",
                "_partner.acme.lifestyle.isHomeOwner",
            ),
        ),
        (
            "lower(person.name.firstName) LIKE 'a%' OR loyalty.tier IS NULL",
            ("person.name.firstName", "loyalty.tier"),
        ),
        (
            "NOT (loyalty.tier = 'Gold') AND _partner.acme IS NOT NULL",
            ("loyalty.tier", "_partner.acme"),
        ),
    ],
)
def test_parse_predicate_accepts_conditions_and_lists_lineage(text: str, fields: tuple) -> None:
    parsed = parse_predicate(text, KNOWN, where="segment s")
    assert parsed.fields == fields


@pytest.mark.parametrize(
    ("text", "position", "problem"),
    [
        ("loyalty.tier IN (SELECT tier FROM t)", 17, "SUBQUERY is not allowed"),
        ("loyalty.tierr = 'Gold'", 1, "unknown field loyalty.tierr"),
        (
            "loyalty.tier = 'Gold' AND reflect('java.lang.Runtime', 'exec') = 1",
            27,
            "function REFLECT is not allowed",
        ),
        ("loyalty.tier = 'Gold'; DROP TABLE profiles", 22, "exactly one expression"),
        ("loyalty.tier = 'Gold' OR '1' = '1' --", 1, None),
        ("loyalty.tier", 1, "must be a condition"),
        ("loyalty.tier = 'Gold", 1, "not a valid expression"),
    ],
)
def test_parse_predicate_rejects_with_a_position(
    text: str, position: int, problem: str | None
) -> None:
    if problem is None:  # a comment is harmless: the regenerated SQL drops it
        assert "--" not in parse_predicate(text, KNOWN, where="s").sql
        return
    with pytest.raises(SegmentError) as raised:
        parse_predicate(text, KNOWN, where="segment s predicate")
    assert raised.value.position + 1 == position
    assert problem in str(raised.value)
    assert str(raised.value).startswith(f"segment s predicate: position {position}: ")


def test_leaves_under_expands_a_struct_path() -> None:
    assert leaves_under("_partner.acme", LEAVES) == [
        "_partner.acme.financial.householdNetWorthRange",
        "_partner.acme.lifestyle.isHomeOwner",
    ]


GOVERNANCE = build_governance(
    labels=[Label(code=code, name="x", description="d") for code in ("X1", "X2")],
    policies=[
        Policy.model_validate(
            {
                "id": "both",
                "name": "Both",
                "marketing_actions": ["emailTargeting"],
                "deny": {"operator": "AND", "operands": [{"label": "X1"}, {"label": "X2"}]},
            }
        )
    ],
)
VIEWS = {
    "seeds": DatasetView(
        labels=(),
        fields={
            "loyalty.tier": (LabelRef(code="X1", origin="field", source="loyalty.tier"),),
            "personalEmail.address": (LabelRef(code="X2", origin="field", source="p"),),
        },
    ),
}
FIELD_DATASETS = {"loyalty.tier": "seeds", "personalEmail.address": "seeds"}


def decide(predicate_fields: list[str], export_fields: list[str]) -> object:
    lineage = build_lineage(
        predicate_fields=predicate_fields,
        export_fields=export_fields,
        identity_datasets=[],
        consent_field=None,
        field_datasets=FIELD_DATASETS,
        identity_field="identityMap",
    )
    return decide_activation(
        GOVERNANCE,
        segment="gold",
        destination="mail",
        actions=["emailTargeting"],
        lineage=lineage,
        views=VIEWS,
        predicate="p",
        destination_settings={},
    )


def test_and_policy_fires_across_segment_and_export_with_role_remedies() -> None:
    decision = decide(["loyalty.tier"], ["personalEmail.address"])
    assert not decision.allowed
    assert decision.chains == (
        "policy both (Both) -> condition (X1 AND X2) -> action emailTargeting -> label X1 -> "
        "field loyalty.tier (in the segment predicate) -> dataset seeds -> segment gold -> "
        "destination mail",
        "policy both (Both) -> condition (X1 AND X2) -> action emailTargeting -> label X2 -> "
        "field personalEmail.address (exported) -> dataset seeds -> segment gold -> "
        "destination mail",
    )
    assert decision.remedies[:3] == (
        "remove loyalty.tier from segment gold's predicate",
        "stop exporting personalEmail.address to destination mail",
        "remove emailTargeting from destination mail's marketing actions",
    )
    assert decide(["loyalty.tier"], []).allowed  # X1 alone does not fire the AND


def test_describe_changes_names_policies_labels_and_settings() -> None:
    before = {
        "predicate": "a",
        "destination": {"marketing_actions": ["analytics"]},
        "policies": {"p1": "h1", "p2": "h2"},
        "labels": {"field f (seeds)": ["C1"]},
    }
    after = {
        "predicate": "a",
        "destination": {"marketing_actions": ["emailTargeting"]},
        "policies": {"p1": "h9", "p3": "h3"},
        "labels": {"field f (seeds)": ["C4"]},
    }
    assert describe_changes(before, after) == [
        "destination marketing_actions changed: ['analytics'] -> ['emailTargeting']",
        "policy p1 changed",
        "policy p2 removed",
        "policy p3 added",
        "labels on field f (seeds): +C4 -C1",
    ]
    assert LineageItem(dataset="d", field="f", role="export").role == "export"


def test_blocked_partner_field_suggests_another_partners_allowed_value() -> None:
    from governance.activation import provider_alternatives

    governance = build_governance(
        labels=[Label(code="acme_contract", name="c", description="d")],
        policies=[
            Policy.model_validate(
                {
                    "id": "contract_acme",
                    "name": "acme contract",
                    "marketing_actions": ["emailTargeting"],
                    "deny": {"label": "acme_contract"},
                }
            )
        ],
    )
    field = "_partner.{}.demographic.householdIncomeRange"
    views = {
        "partner/acme": DatasetView(
            labels=("3PD", "acme_contract"), fields={field.format("acme"): ()}
        ),
        "partner/beta": DatasetView(labels=("3PD",), fields={field.format("beta"): ()}),
        "partner/gamma": DatasetView(
            labels=("3PD", "acme_contract"), fields={field.format("gamma"): ()}
        ),
    }
    lineage = [LineageItem(dataset="partner/acme", field=field.format("acme"), role="export")]
    decision = decide_activation(
        governance,
        segment="s",
        destination="mail",
        actions=["emailTargeting"],
        lineage=lineage,
        views=views,
        predicate="p",
        destination_settings={},
    )
    assert not decision.allowed
    assert decision.remedies[0] == (
        f"use provider beta's value: {field.format('beta')} instead of {field.format('acme')} "
        "(emailTargeting is allowed on it)"
    )
    assert provider_alternatives(governance, "emailTargeting", "seeds", lineage, views) == []
    assert not [r for r in decision.remedies if "gamma" in r]  # gamma is blocked too
