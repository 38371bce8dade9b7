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

KINDS = {
    "loyalty.tier": "string",
    "loyalty.lifetimeValue": "number",
    "loyalty.joinDate": "date",
    "person.name.firstName": "string",
    "person.hasFinancialAdvisor": "boolean",
    "_partner.acme.financial.householdNetWorthRange": "string",
    "_partner.acme.lifestyle.isHomeOwner": "string",
    "personalEmail.address": "string",
    "mobilePhone.number": "string",
    "identityMap": "map",
}
LEAVES = list(KINDS)
KNOWN = field_paths_with_parents(KINDS)


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


@pytest.mark.parametrize(
    ("text", "position", "problem"),
    [
        # Case 1: both passed and made Spark's cast error print customers' emails and phones.
        (
            "personalEmail.address = 1",
            25,
            "personalEmail.address is a string; it cannot be compared with 1, which is a number",
        ),
        (
            "abs(mobilePhone.number) > 0",
            5,
            "abs needs a number, but mobilePhone.number is a string",
        ),
        (
            "loyalty.lifetimeValue IN (10, 'x')",
            31,
            "loyalty.lifetimeValue is a number; it cannot be compared with 'x', which is a string",
        ),
        ("lower(loyalty.lifetimeValue) = 'a'", 7, "lower needs a string"),
        ("loyalty.tier LIKE 5", 19, "LIKE needs a string, but 5 is a number"),
        ("loyalty.joinDate > 'soon'", 20, "it cannot be compared with 'soon'"),
        ("identityMap = 'x'", 1, "EQ cannot compare identityMap, which is a map"),
        ("_partner.acme > 1", 1, "GT cannot compare _partner.acme, which is a struct"),
        ("year(loyalty.tier) = 2024", 6, "year needs a date or a timestamp"),
        ("loyalty.tier = 'Gold' AND length(loyalty.tier)", 27, "AND needs a boolean"),
        # Case 4: an AttributeError, a Java stack trace, a RecursionError, a 64 KB code warning.
        ("named_struct('a', 1).a IS NOT NULL", 1, "only a field can be followed by .name"),
        ("`loyalty.tier` = 'Gold'", 1, "write the nested field loyalty.tier without backticks"),
        ("(" * 50 + "loyalty.tier = 'Gold'" + ")" * 50, 17, "nested deeper than 16 levels"),
        (
            " OR ".join(f"loyalty.tier = 'T{n}'" for n in range(5000)),
            10001,
            "longer than 10,000 characters",
        ),
        (
            " OR ".join(f"loyalty.tier='{n}'" for n in range(450)),
            1,
            "2,699 parts (fields, values, operators and functions); at most 2,000",
        ),
    ],
)
def test_a_predicate_with_a_type_or_size_it_cannot_have_is_refused_where_it_goes_wrong(
    text: str, position: int, problem: str
) -> None:
    with pytest.raises(SegmentError) as raised:
        parse_predicate(text, KNOWN, where="segment s predicate")
    assert problem in str(raised.value)
    assert raised.value.position + 1 == position, str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        "year(loyalty.joinDate) = 2024",
        "month(loyalty.joinDate) IN (11, 12)",
        "datediff(current_date(), loyalty.joinDate) < 30",
        "loyalty.joinDate >= '2024-01-01'",
        "loyalty.joinDate BETWEEN '2024-01-01' AND current_date()",
        "upper(trim(loyalty.tier)) = 'GOLD' AND length(person.name.firstName) > 1",
        "coalesce(loyalty.tier, 'none') <> 'Gold'",
        "abs(loyalty.lifetimeValue) > 10 OR -loyalty.lifetimeValue < 0",
        "person.hasFinancialAdvisor = true AND person.hasFinancialAdvisor IS NOT NULL",
        "personalEmail.address ILIKE '%@example.org'",
        "loyalty.tier IN ('Gold', NULL)",
        "loyalty.tier IN (" + ", ".join(f"'{n}'" for n in range(1000)) + ")",
    ],
)
def test_every_allowed_function_and_operator_takes_the_types_it_is_documented_for(
    text: str,
) -> None:
    parsed = parse_predicate(text, KNOWN, where="segment s")
    assert parsed.fields


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
        consent_fields=(),
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
