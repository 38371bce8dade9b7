"""Data steward checks: labels, policies, identity and location fields, retention. Plain Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from governance.catalogs import THIRD_PARTY_LABEL, Governance, bundled_catalogs
from governance.policies import DatasetView
from schemas.models import FieldDef

Level = Literal["error", "warning"]
IDENTITY_LABEL = "I1"
PRECISE_LOCATION_LABEL = "S1"
# Leaf names that hold coordinates even when the schema does not mark them `meta:geo`.
COORDINATE_NAMES = frozenset({"latitude", "longitude", "lat", "lon", "lng"})


class Finding(BaseModel):
    """One steward finding: its level, which check found it, where, and what to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Level
    check: str
    where: str
    message: str


class BatchAge(BaseModel):
    """A loaded partner batch still in use, when it was ingested and how long it may be kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partner: str
    batch_id: str
    ingested_at: datetime
    retention_days: int


class DerivedExpiry(BaseModel):
    """A derived table holding a partner's data, and the earliest expiry among its records."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    partner: str
    earliest_expiry: datetime
    expired_records: int


def partner_fields_without_third_party(fields: Sequence[FieldDef]) -> list[Finding]:
    return [
        Finding(
            level="error",
            check="partner_field_without_3PD",
            where=f.path,
            message=f"partner field has no {THIRD_PARTY_LABEL} label; label its field "
            "group or the partner's dataset",
        )
        for f in fields
        if f.partner and THIRD_PARTY_LABEL not in f.label_codes
    ]


def undefined_labels(
    governance: Governance, fields: Sequence[FieldDef], datasets: Mapping[str, DatasetView]
) -> list[Finding]:
    findings = []
    for name, view in datasets.items():
        for code in view.labels:
            if code not in governance.labels:
                findings.append(
                    Finding(
                        level="error",
                        check="undefined_label",
                        where=f"dataset {name}",
                        message=f"label {code} is not defined",
                    )
                )
    seen = set()
    for f in fields:
        for ref in f.labels:
            key = (ref.code, ref.origin, ref.source)
            if ref.code in governance.labels or ref.origin == "dataset" or key in seen:
                continue
            seen.add(key)
            findings.append(
                Finding(
                    level="error",
                    check="undefined_label",
                    where=f"{ref.origin} {ref.source}",
                    message=f"label {ref.code} is not defined (codes are case-sensitive)",
                )
            )
    return findings


def catalog_problems(problems: Sequence[str]) -> list[Finding]:
    return [
        Finding(
            level="error",
            check="catalog",
            where=p.split(":", 1)[0],
            message=p.split(":", 1)[-1].strip(),
        )
        for p in problems
    ]


def labels_without_policy(
    governance: Governance, fields: Sequence[FieldDef], datasets: Mapping[str, DatasetView]
) -> list[Finding]:
    """Labels on data that no enabled policy names: users expect a label to block something."""
    used = {ref.code for f in fields for ref in f.labels}
    used |= {code for view in datasets.values() for code in view.labels}
    enforced = {c for p in governance.policies if p.status == "enabled" for c in p.deny.labels()}
    return [
        Finding(
            level="warning",
            check="label_without_policy",
            where=f"label {code}",
            message="applied to data, but no enabled policy uses it: it blocks nothing",
        )
        for code in sorted(used - enforced)
        if code in governance.labels
    ]


def weakened_core_policies(governance: Governance) -> list[Finding]:
    """Core policies a workspace replaced with one that is not enabled: the protection it
    gave (e.g. against reselling third-party data) is off, which should never go unseen."""
    findings = []
    for core in bundled_catalogs()[2].policies:
        effective = governance.policy(core.id)
        if effective is None or effective.status == "enabled":
            continue
        findings.append(
            Finding(
                level="warning",
                check="core_policy_not_enabled",
                where=f"policy {core.id}",
                message=f"the workspace sets this core policy to {effective.status}: "
                f"{', '.join(core.marketing_actions)} of data labelled "
                f"{', '.join(core.deny.labels())} is no longer blocked by it; remove the "
                "override from governance.policies to restore it",
            )
        )
    return findings


def identity_fields_without_i1(fields: Sequence[FieldDef]) -> list[Finding]:
    return [
        Finding(
            level="error",
            check="identity_field_without_I1",
            where=f.path,
            message=f"{f.identity} field without {IDENTITY_LABEL} (directly identifiable)",
        )
        for f in fields
        if f.identity and IDENTITY_LABEL not in f.label_codes
    ]


def precise_location_without_s1(fields: Sequence[FieldDef]) -> list[Finding]:
    return [
        Finding(
            level="error",
            check="precise_location_without_S1",
            where=f.path,
            message=f"precise location field without {PRECISE_LOCATION_LABEL}",
        )
        for f in fields
        if (f.geo == "precise" or f.parts[-1].lower() in COORDINATE_NAMES)
        and PRECISE_LOCATION_LABEL not in f.label_codes
    ]


def batches_past_retention(batches: Sequence[BatchAge], now: datetime) -> list[Finding]:
    findings = []
    for batch in batches:
        age = (now - batch.ingested_at).days
        if age > batch.retention_days:
            findings.append(
                Finding(
                    level="error",
                    check="partner_data_past_retention",
                    where=f"partner/{batch.partner}/batch_id={batch.batch_id}",
                    message=f"ingested {age} days ago; the contract keeps it "
                    f"{batch.retention_days} days: ingest a new delivery or remove the batch",
                )
            )
    return findings


def derived_tables_with_expired_data(derived: Sequence[DerivedExpiry]) -> list[Finding]:
    return [
        Finding(
            level="error",
            check="derived_table_with_expired_partner_data",
            where=f"{d.table} (_partner.{d.partner})",
            message=f"{d.expired_records:,} record(s) hold {d.partner} data that expired "
            f"at {d.earliest_expiry.isoformat()} or later; re-run `partnerkit enrich`",
        )
        for d in derived
        if d.expired_records
    ]


def steward_findings(
    governance: Governance,
    catalog_issues: Sequence[str],
    fields: Sequence[FieldDef],
    datasets: Mapping[str, DatasetView],
    batches: Sequence[BatchAge],
    derived: Sequence[DerivedExpiry],
    now: datetime,
) -> list[Finding]:
    """Every check, errors first."""
    findings = [
        *catalog_problems(catalog_issues),
        *undefined_labels(governance, fields, datasets),
        *partner_fields_without_third_party(fields),
        *identity_fields_without_i1(fields),
        *precise_location_without_s1(fields),
        *batches_past_retention(batches, now),
        *derived_tables_with_expired_data(derived),
        *labels_without_policy(governance, fields, datasets),
        *weakened_core_policies(governance),
    ]
    return sorted(findings, key=lambda f: f.level != "error")
