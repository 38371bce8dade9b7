"""The steward job: run every data steward check and write an HTML report a steward can open.

No Spark: the catalogs, schemas and ledger are read in Python, and the profiles table's
expiry dates are read with pyarrow (only the provenance columns).
"""

from __future__ import annotations

import logging
import shlex
from datetime import UTC, datetime

from governance.checks import BatchAge, DerivedExpiry, Finding, steward_findings
from governance.errors import SegmentError
from ingest.enrichment.profiles import PARTNER_FIELD
from ingest.ledger import Ledger
from jobs.config import DestinationConfig, Workspace
from jobs.reports.steward import steward_report_html
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.catalogue import PROFILES_TABLE
from jobs.warehouse.paths import replace_text
from jobs.warehouse.tables import committed_folder
from jobs.workspace_schema import (
    parse_segment,
    profile_fields,
    unknown_destination_fields,
    workspace_datasets,
    workspace_governance_with_problems,
)
from schemas.models import FieldDef

JOB = "steward"
REPORT = "steward/index.html"
logger = logging.getLogger(__name__)


def loaded_batches(workspace: Workspace) -> list[BatchAge]:
    """Every loaded batch still on disk, with its partner's retention."""
    ledger = Ledger(workspace.ledger_path)
    ages = []
    for partner in workspace.config.partners:
        for record in ledger.batches(partner=partner.name, limit=100_000):
            if record.status == "loaded" and record.finished_at:
                ages.append(
                    BatchAge(
                        partner=partner.name,
                        batch_id=record.batch_id,
                        ingested_at=datetime.fromisoformat(record.finished_at),
                        retention_days=partner.contract.retention_days,
                    )
                )
    return ages


def profile_expiries(workspace: Workspace, now: datetime) -> tuple[list[DerivedExpiry], list[str]]:
    """Per partner, the profiles records whose partner data expired (read with pyarrow)."""
    if "://" in workspace.warehouse:
        where = workspace.warehouse
        return [], [f"{PROFILES_TABLE} is under {where}: expiry of derived data not checked here"]
    path = committed_folder(workspace.warehouse, PROFILES_TABLE)
    if path is None:
        return [], [f"no {PROFILES_TABLE} table yet: expiry of derived data not checked"]
    import pyarrow.compute as pc  # imported here: pyarrow costs every CLI command 0.6 s
    import pyarrow.dataset as ds

    dataset = ds.dataset(path, format="parquet")
    partners = (
        dataset.schema.field(PARTNER_FIELD).type if PARTNER_FIELD in dataset.schema.names else None
    )
    found = []
    for partner in [partners.field(i).name for i in range(partners.num_fields)] if partners else []:
        column = ds.field(PARTNER_FIELD, partner, "provenance", "expiresAt")
        expires = dataset.to_table(columns={"e": column})["e"]
        naive_now = now.astimezone(UTC).replace(tzinfo=None)
        expired = pc.less_equal(expires, pc.cast(naive_now, expires.type))
        count = pc.sum(pc.cast(expired, "int64")).as_py() or 0
        earliest = pc.min(expires).as_py()
        if earliest is not None:
            found.append(
                DerivedExpiry(
                    table=PROFILES_TABLE,
                    partner=partner,
                    earliest_expiry=earliest.replace(tzinfo=UTC),
                    expired_records=count,
                )
            )
    return found, []


def platform_protection_findings(
    workspace: Workspace, number: int, destination: DestinationConfig
) -> list[Finding]:
    """Warnings where an ad-platform destination runs without a protection it should have:
    Meta's restricted-audience check, Google's consent signals."""
    where = f"destinations[{number}]"
    found = []
    if destination.format == "meta_custom_audience":
        if destination.restricted_audiences == "off":
            found.append("restricted_audiences is off: segments on sensitive fields go to Meta")
        elif not workspace.config.governance.sensitive_fields:
            found.append("governance.sensitive_fields is empty: no segment counts as restricted")
    if destination.format == "google_customer_match" and not destination.require_consent_signals:
        found.append(
            "no require_consent_signals: Google does not use EEA members without "
            "ad_user_data and ad_personalization consent (set consent_signals and require them)"
        )
    return [
        Finding(level="warning", check="platform_protection", where=where, message=message)
        for message in found
    ]


def audience_findings(workspace: Workspace, fields: list[FieldDef]) -> list[Finding]:
    """Segments whose predicate is refused or reads fields the profile lacks, and destinations
    exporting such fields: errors here, not first when an activation runs."""
    findings = []
    for number, segment in enumerate(workspace.config.segments):
        try:
            parse_segment(workspace, segment, fields)
        except SegmentError as error:
            findings.append(
                Finding(
                    level="error",
                    check="segment_predicate",
                    where=f"segments[{number}].predicate",
                    message=str(error),
                )
            )
    for number, destination in enumerate(workspace.config.destinations):
        findings += platform_protection_findings(workspace, number, destination)
        unknown = unknown_destination_fields(destination, fields)
        if unknown:
            findings.append(
                Finding(
                    level="error",
                    check="destination_fields",
                    where=f"destinations[{number}]",
                    message=f"{', '.join(unknown)}: not profile fields "
                    f"(`partnerkit schema show --workspace {shlex.quote(str(workspace.root))}`)",
                )
            )
    return findings


def run(workspace: Workspace, *, now: datetime | None = None) -> JobResult:
    """Check labels, policies, identity and location fields and retention; write the report."""
    moment = now or datetime.now(UTC)
    with open_run(workspace, JOB, writes=False) as job:
        governance, problems = workspace_governance_with_problems(workspace)
        fields = profile_fields(workspace)
        datasets = workspace_datasets(workspace, fields)
        derived, notes = profile_expiries(workspace, moment)
        findings: list[Finding] = steward_findings(
            governance, problems, fields, datasets, loaded_batches(workspace), derived, moment
        )
        findings = audience_findings(workspace, fields) + findings
        report = workspace.reports_dir / REPORT
        replace_text(
            report, steward_report_html(governance, fields, datasets, findings, notes, moment)
        )
        job.outputs["report"] = str(report)
        job.counts["errors"] = sum(f.level == "error" for f in findings)
        job.counts["warnings"] = sum(f.level == "warning" for f in findings)
        job.counts["findings"] = [f.model_dump() for f in findings]
        job.counts["notes"] = notes
    return job.result()
