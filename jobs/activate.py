"""The activate job: evaluate a segment x destination under policy, then export or refuse.

Every decision, allowed or blocked, is an audit event in the ledger with what it depended on;
a blocked re-run of a previously allowed activation says what changed since.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from governance.activation import ActivationDecision, decide_activation
from governance.activation import describe_changes as changes_between
from governance.lineage import leaves_under
from ingest.audiences.exports import (
    AD_PLATFORM_LAYOUTS,
    ad_platform_rows,
    exported_match_fields,
    generic_rows,
    has_consent,
    segment_membership,
)
from ingest.identity.profiles import get_profile
from ingest.ledger import Ledger, RunRecord
from jobs.config import DestinationConfig, Workspace
from jobs.errors import WorkspaceError
from jobs.runtime.runs import JobResult, RunContext, fault_point, open_run
from jobs.warehouse.catalogue import PROSPECTS_TABLE
from jobs.warehouse.delivery import (
    MANIFEST,
    publish_local,
    publish_s3,
    s3_staging_uri,
    write_files,
)
from jobs.warehouse.tables import load_prospects, read_profiles
from jobs.workspace_schema import (
    parse_segment,
    profile_fields,
    usage_lineage,
    workspace_datasets,
    workspace_governance,
)

JOB = "activate"
DECISION_EVENT = "activation_decision"
# Recorded just before an export is published: where its manifest will be. A run that died
# after it is found exported or not by looking there (see `activation_outcome`).
EXPORT_EVENT = "export_target"


SETTINGS = {"format", "identities", "attributes", "marketing_actions", "consent_field", "path"}


def destination_settings(destination: DestinationConfig) -> dict[str, Any]:
    return destination.model_dump(include=SETTINGS)


def previous_allowed(ledger: Ledger, segment: str, destination: str) -> dict[str, Any] | None:
    """The last allowed decision for this segment and destination, from the audit log."""
    for run in ledger.runs(job=JOB, limit=200):
        for event in ledger.events(run.workflow_id):
            payload = event["payload"]
            pair = (payload.get("segment"), payload.get("destination"))
            allowed = event["kind"] == DECISION_EVENT and payload.get("allowed")
            if allowed and pair == (segment, destination):
                return {**payload, "workflow_id": run.workflow_id, "at": event["at"]}
    return None


def decide(
    workspace: Workspace, segment_name: str, destination_name: str
) -> tuple[ActivationDecision, str, DestinationConfig]:
    """The policy decision for an activation, computed from schemas and catalogs only."""
    segment = workspace.segment(segment_name)
    destination = workspace.destination(destination_name)
    fields = profile_fields(workspace)
    parsed = parse_segment(workspace, segment, fields)
    known_paths = {f.path for f in fields}
    exported = list(destination.attributes)
    if destination.format in AD_PLATFORM_LAYOUTS:
        exported += exported_match_fields(destination.match_keys)
    unknown = [
        p
        for p in [*exported, destination.consent_field or ""]
        if p and not leaves_under(p, known_paths)
    ]
    if unknown:
        raise WorkspaceError(
            f"destination {destination.name}: {', '.join(unknown)}",
            "profile field paths (see `partnerkit schema show`)",
        )
    lineage = usage_lineage(
        workspace,
        predicate_fields=parsed.fields,
        export_fields=exported,
        identity_codes=destination.identities,
        consent_field=destination.consent_field,
        fields=fields,
    )
    decision = decide_activation(
        workspace_governance(workspace),
        segment=segment.name,
        destination=destination.name,
        actions=destination.marketing_actions,
        lineage=lineage,
        views=workspace_datasets(workspace, fields),
        predicate=parsed.sql,
        destination_settings=destination_settings(destination),
    )
    return decision, parsed.sql, destination


def decide_prospects(
    workspace: Workspace, name: str, destination_name: str, lineage_doc: dict
) -> tuple[ActivationDecision, DestinationConfig, str]:
    """The decision for a prospect audience: its clusters' fields and the partner IDs exported.

    Prospects are partner persons, not profiles: the destination may export only the
    partner's own namespace, and only when the partner allows its IDs to be kept.
    """
    destination = workspace.destination(destination_name)
    partner = workspace.partner(lineage_doc["partner"])
    problems = []
    if destination.identities != [partner.namespace] or destination.attributes:
        problems.append(f"exactly identities [{partner.namespace}] and no attributes")
    if destination.format in AD_PLATFORM_LAYOUTS:
        problems.append("a csv, jsonl or parquet layout")
    if not partner.contract.persist_partner_id:
        problems.append(
            f"a partner whose contract allows keeping its IDs ({partner.name} "
            "sets persist_partner_id: false)"
        )
    if problems:
        raise WorkspaceError(
            f"destination {destination.name} for prospects/{name}", "; ".join(problems)
        )
    lineage = usage_lineage(
        workspace, predicate_fields=lineage_doc["fields"], identity_codes=[partner.namespace]
    )
    decision = decide_activation(
        workspace_governance(workspace),
        segment=f"{PROSPECTS_TABLE}/{name}",
        destination=destination.name,
        actions=destination.marketing_actions,
        lineage=lineage,
        views=workspace_datasets(workspace, profile_fields(workspace)),
        predicate=lineage_doc["expression"],
        destination_settings=destination_settings(destination),
    )
    return decision, destination, partner.namespace


def run_prospects(
    workspace: Workspace,
    spark: SparkSession,
    *,
    prospects: str,
    destination: str,
    dry_run: bool = False,
) -> JobResult:
    """Activate a saved lookalike audience (partner IDs) under the same policy evaluation."""
    ledger = Ledger(workspace.ledger_path)
    persons, lineage_doc = load_prospects(spark, workspace.warehouse, ledger, prospects)
    decision, target, namespace = decide_prospects(workspace, prospects, destination, lineage_doc)
    with open_run(workspace, JOB, spark=spark) as job:
        ledger.record_event(job.workflow_id, DECISION_EVENT, decision.model_dump(mode="json"))
        job.counts.update(
            {
                "segment": decision.segment,
                "destination": destination,
                "allowed": decision.allowed,
                "dry_run": dry_run,
                "chains": list(decision.chains),
                "remedies": list(decision.remedies),
            }
        )
        if not decision.allowed:
            return job.result()
        job.counts["members"] = persons.count()
        job.counts["without_consent"] = 0  # prospects have no 1P consent; the partner's applies
        if dry_run:
            return job.result()
        rows = persons.select(persons["partner_id"].alias(namespace))
        job.counts.update(write_export(workspace, job, decision, target, rows))
        job.outputs["manifest"] = job.counts["manifest"]
    return job.result()


def export_rows(
    workspace: Workspace, members: DataFrame, destination: DestinationConfig
) -> DataFrame:
    if destination.format in AD_PLATFORM_LAYOUTS:
        profile_name, _ = AD_PLATFORM_LAYOUTS[destination.format]
        return ad_platform_rows(
            members,
            layout=destination.format,
            profile=get_profile(profile_name),
            default_country=workspace.config.seeds.default_country,
            match_keys=destination.match_keys,
        )
    return generic_rows(
        members, identities=destination.identities, attributes=destination.attributes
    )


def run(
    workspace: Workspace,
    spark: SparkSession,
    *,
    segment: str,
    destination: str,
    dry_run: bool = False,
) -> JobResult:
    """Decide; when allowed (and not a dry run) write the files and the manifest last."""
    ledger = Ledger(workspace.ledger_path)
    decision, predicate_sql, target = decide(workspace, segment, destination)
    with open_run(workspace, JOB, spark=spark) as job:
        document = decision.model_dump(mode="json")
        ledger.record_event(job.workflow_id, DECISION_EVENT, document)
        job.counts.update(
            {
                "segment": segment,
                "destination": destination,
                "allowed": decision.allowed,
                "dry_run": dry_run,
                "chains": list(decision.chains),
                "remedies": list(decision.remedies),
            }
        )
        if not decision.allowed:
            before = previous_allowed(ledger, segment, destination)
            if before is not None:
                job.counts["changed_since_allowed"] = {
                    "workflow_id": before["workflow_id"],
                    "at": before["at"],
                    "changes": changes_between(before["fingerprint"], decision.fingerprint),
                }
            return job.result()
        profiles = read_profiles(spark, workspace.warehouse)
        members = profiles.join(
            segment_membership(profiles, predicate_sql).withColumnRenamed(
                "profile_id", "profileId"
            ),
            on="profileId",
            how="left_semi",
        ).cache()
        consenting = members.where(has_consent(target.consent_field))
        consenting_count = consenting.count()
        job.counts["members"] = members.count()
        job.counts["without_consent"] = job.counts["members"] - consenting_count
        if dry_run:
            return job.result()
        job.counts.update(
            write_export(
                workspace,
                job,
                decision,
                target,
                export_rows(workspace, consenting, target),
            )
        )
        if target.format in AD_PLATFORM_LAYOUTS:
            count_without_identifiers(job.counts, consenting_count)
        job.outputs["manifest"] = job.counts["manifest"]
        members.unpersist()
    return job.result()


def write_export(
    workspace: Workspace,
    job: RunContext,
    decision: ActivationDecision,
    target: DestinationConfig,
    rows: DataFrame,
) -> dict[str, Any]:
    """Files split at the row limit, manifest written last; local rename or S3 upload.

    The staging folder holds plaintext identifiers, so it is claimed by the run before it is
    created: a killed export's folder is removed by the next writer.
    """
    workflow_id = job.workflow_id
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    export_id = f"{stamp}-{workflow_id[:8]}"
    staging = (
        Path(workspace.warehouse) / ".staging" / "exports" / f"{export_id}-{uuid.uuid4().hex[:6]}"
    )
    if target.type == "file":
        staging = Path(workspace.resolve(target.path)) / f".staging-{export_id}"
    job.claim(staging)
    staging.mkdir(parents=True)
    files = write_files(
        rows,
        staging,
        file_format=target.format if target.format in ("csv", "jsonl", "parquet") else "csv",
        max_rows_per_file=target.max_rows_per_file,
    )
    manifest = {
        "segment": decision.segment,
        "destination": decision.destination,
        "workflow_id": workflow_id,
        "export_id": export_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "format": target.format,
        "marketing_actions": target.marketing_actions,
        "rows": sum(f["rows"] for f in files),
        "files": files,
        "labels": decision.fingerprint["labels"],
        "policies_evaluated": {e.action: list(e.evaluated_policies) for e in decision.evaluations},
        "lineage": [item.model_dump() for item in decision.lineage],
    }
    fault_point("export_staged")
    if target.type == "s3":
        prefix = f"{target.path.rstrip('/')}/{decision.segment}/{export_id}"
        job.claim(s3_staging_uri(staging, prefix))  # removed by the next writer if we die
        job.claim(f"{prefix}/")  # unless its manifest made it out
        job.ledger.record_event(workflow_id, EXPORT_EVENT, {"manifest": f"{prefix}/{MANIFEST}"})
        location = publish_s3(staging, prefix, manifest)
    else:
        final = Path(workspace.resolve(target.path)) / decision.segment / export_id
        job.ledger.record_event(workflow_id, EXPORT_EVENT, {"manifest": str(final / MANIFEST)})
        location = str(publish_local(staging, final, manifest))
    fault_point("export_published")
    return {"exported_rows": manifest["rows"], "files": len(files), "manifest": location}


def count_without_identifiers(counts: dict[str, Any], consenting: int) -> None:
    """Consenting members an ad-platform layout could not carry (no usable email or phone)."""
    counts["without_identifiers"] = consenting - counts["exported_rows"]


def activation_outcome(ledger: Ledger, run: RunRecord) -> dict[str, Any]:
    """What an activation run did, told truthfully even when its process died.

    A finished run's counts say it. An abandoned (or still running) one is described from
    its events: the decision it recorded, and whether the export it was publishing has its
    manifest (published: the files are out) or not (nothing left the warehouse).
    """
    if run.status in ("succeeded", "failed"):
        return {**run.counts, "status": run.status}
    events = ledger.events(run.workflow_id)
    decision = next((e["payload"] for e in events if e["kind"] == DECISION_EVENT), {})
    target = next((e["payload"] for e in events if e["kind"] == EXPORT_EVENT), None)
    outcome: dict[str, Any] = {
        "status": run.status,
        "segment": decision.get("segment", ""),
        "destination": decision.get("destination", ""),
        "allowed": decision.get("allowed", False),
    }
    manifest = target["manifest"] if target else None
    if manifest and "://" not in manifest and Path(manifest).is_file():
        document = json.loads(Path(manifest).read_text(encoding="utf-8"))
        outcome.update(manifest=manifest, exported_rows=document["rows"], published=True)
    else:
        outcome["published"] = False
    return outcome
