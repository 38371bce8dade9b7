"""Steward checks on hand-made fields, datasets and batches: each check finds its problem."""

from __future__ import annotations

from datetime import UTC, datetime

from pyspark.sql.types import StringType

from governance.catalogs import build_governance
from governance.checks import (
    BatchAge,
    DerivedExpiry,
    batches_past_retention,
    derived_tables_with_expired_data,
    identity_fields_without_i1,
    labels_without_policy,
    partner_fields_without_third_party,
    precise_location_without_s1,
    steward_findings,
    undefined_labels,
    weakened_core_policies,
)
from governance.policies import DatasetView
from schemas.models import FieldDef, LabelRef

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def field(path: str, *codes: str, **extra: object) -> FieldDef:
    labels = tuple(LabelRef(code=c, origin="field", source=path) for c in codes)
    return FieldDef(
        path=path,
        json_type="string",
        title="t",
        description="d",
        labels=labels,
        spark_type=StringType(),
        **extra,
    )


def test_partner_field_without_3pd_is_an_error() -> None:
    fields = [
        field("_partner.acme.x.a", "3PD", partner="acme"),
        field("_partner.acme.x.b", partner="acme"),
        field("person.name"),
    ]
    (finding,) = partner_fields_without_third_party(fields)
    assert (finding.level, finding.where) == ("error", "_partner.acme.x.b")


def test_identity_field_without_i1_and_coordinates_without_s1() -> None:
    fields = [
        field("contact.email", identity="email"),
        field("a.email", "I1", identity="email"),
        field("geo.latitude"),
        field("geo.point", geo="precise"),
        field("geo.lon", "S1"),
    ]
    assert [f.where for f in identity_fields_without_i1(fields)] == ["contact.email"]
    assert [f.where for f in precise_location_without_s1(fields)] == ["geo.latitude", "geo.point"]


def test_undefined_labels_on_fields_and_datasets_are_named() -> None:
    governance = build_governance()
    findings = undefined_labels(
        governance,
        [field("a.b", "c9", "C9")],
        {"partner/acme": DatasetView(labels=("3pd",), fields={})},
    )
    assert sorted((f.where, f.message.split(" (")[0]) for f in findings) == [
        ("dataset partner/acme", "label 3pd is not defined"),
        ("field a.b", "label c9 is not defined"),
    ]


def test_label_on_data_without_an_enabled_policy_is_a_warning() -> None:
    governance = build_governance()
    findings = labels_without_policy(
        governance, [field("a.b", "C9", "I2")], {"seeds": DatasetView(labels=("3PD",), fields={})}
    )
    # 3PD is enforced by the bundled resale policy; I2 by nothing
    assert [(f.level, f.where) for f in findings] == [("warning", "label I2")]


def test_third_party_resale_is_protected_without_any_workspace_policy() -> None:
    """Case: `policies: []` removed the resale protection (it lived in the starter file) and
    `partnerkit check` said nothing."""
    resale = build_governance(policies=[]).policy("no_third_party_resale")
    assert resale is not None and resale.status == "enabled"
    assert set(resale.marketing_actions) == {"exportToThirdParty", "segmentMatch"}
    assert resale.deny.labels() == ["3PD"] or set(resale.deny.labels()) == {"3PD"}


def test_a_core_policy_a_workspace_disables_is_a_warning() -> None:
    core = build_governance().policy("no_third_party_resale")
    assert core is not None
    disabled = core.model_copy(update={"status": "disabled"})
    findings = steward_findings(build_governance(policies=[disabled]), [], [], {}, [], [], NOW)
    (finding,) = [f for f in findings if f.check == "core_policy_not_enabled"]
    assert (finding.level, finding.where) == ("warning", "policy no_third_party_resale")
    assert "disabled" in finding.message and "3PD" in finding.message
    assert weakened_core_policies(build_governance()) == []


def test_batches_past_retention_and_derived_tables_with_expired_data() -> None:
    batches = [
        BatchAge(
            partner="acme",
            batch_id="old",
            ingested_at=datetime(2025, 1, 1, tzinfo=UTC),
            retention_days=365,
        ),
        BatchAge(
            partner="acme",
            batch_id="new",
            ingested_at=datetime(2026, 6, 1, tzinfo=UTC),
            retention_days=365,
        ),
    ]
    (finding,) = batches_past_retention(batches, NOW)
    assert finding.where == "partner/acme/batch_id=old" and "ingested 692 days ago" in (
        finding.message
    )
    derived = [
        DerivedExpiry(table="profiles", partner="acme", earliest_expiry=NOW, expired_records=3),
        DerivedExpiry(table="profiles", partner="beta", earliest_expiry=NOW, expired_records=0),
    ]
    (expired,) = derived_tables_with_expired_data(derived)
    assert expired.where == "profiles (_partner.acme)" and "3 record(s)" in expired.message
