"""The activate job: evaluate a segment x destination under policy, then export or refuse.

Every decision, allowed or blocked, is an audit event in the ledger with what it depended on;
a blocked re-run of a previously allowed activation says what changed since.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from governance.activation import (
    ActivationDecision,
    decide_activation,
    restricted_audience_chains,
    with_restricted_audience,
)
from governance.activation import describe_changes as changes_between
from ingest.audiences.consent import tcf_purposes_granted
from ingest.audiences.diffs import (
    ADD,
    MEMBER,
    OPERATION,
    REMOVE,
    audience_changes,
    exported_columns,
    with_digest,
    with_operation,
)
from ingest.audiences.exports import (
    AD_PLATFORM_LAYOUTS,
    ad_platform_rows,
    generic_rows,
    grants,
    has_consent,
    segment_membership,
)
from ingest.audiences.suppression import suppressed_members
from ingest.enrichment.profiles import PROFILE_ID_FIELD
from ingest.identity.profiles import get_profile
from ingest.ledger import Ledger, RunRecord
from ingest.optouts import without_persons
from jobs.config import DestinationConfig, Workspace
from jobs.errors import WorkspaceError
from jobs.reports.activation import decision_html
from jobs.runtime.run_events import DatasetNote, schema_fields
from jobs.runtime.runs import JobResult, RunContext, fault_point, open_run, timed
from jobs.warehouse.catalogue import ACTIVATION_STATE_TABLE, PROSPECTS_TABLE, SEGMENTS_TABLE
from jobs.warehouse.commits import read_manifest
from jobs.warehouse.delivery import (
    EXPORT_EVENT,
    MANIFEST,
    manifest_published,
    publish_local,
    publish_s3,
    s3_staging_uri,
    write_files,
)
from jobs.warehouse.optouts import opted_out_current_persons, opted_out_members
from jobs.warehouse.paths import replace_text
from jobs.warehouse.suppression import list_profile, suppression_keys
from jobs.warehouse.tables import (
    committed_table,
    load_prospects,
    read_profiles,
    read_version,
    write_table,
)
from jobs.workspace_schema import (
    consent_fields,
    exported_fields,
    parse_segment,
    profile_fields,
    unknown_destination_fields,
    usage_lineage,
    workspace_datasets,
    workspace_governance,
)

JOB = "activate"
DECISION_EVENT = "activation_decision"


SETTINGS = {
    "format",
    "identities",
    "attributes",
    "marketing_actions",
    "consent_field",
    "consent_by_action",
    "path",
    "restricted_audiences",
    "consent_signals",
    "require_consent_signals",
    "tcf",
}


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
    exported = exported_fields(destination)
    unknown = unknown_destination_fields(destination, fields)
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
        consent_fields=consent_fields(destination),
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
    if destination.format == "meta_custom_audience" and destination.restricted_audiences != "off":
        chains = restricted_audience_chains(
            lineage,
            workspace.config.governance.sensitive_fields,
            segment=segment.name,
            destination=destination.name,
        )
        refuse = destination.restricted_audiences == "refuse"
        decision = with_restricted_audience(decision, chains, refuse=refuse)
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


def decision_page_path(workspace: Workspace, decision: ActivationDecision, run: str) -> Path:
    """`reports/activations/<audience>--<destination>--<run>.html` (names are checked slugs)."""
    name = f"{decision.segment}--{decision.destination}--{run}.html"
    return workspace.reports_dir / "activations" / name


def write_decision_page(
    workspace: Workspace, job: RunContext, decision: ActivationDecision
) -> None:
    """The decision's page with the counts taken so far, named in the run's outputs."""
    target = decision_page_path(workspace, decision, job.workflow_id)
    replace_text(target, decision_html(decision, job.counts, job.workflow_id))
    job.outputs["decision_page"] = str(target)


def suppressed_profiles(
    workspace: Workspace, spark: SparkSession, job: RunContext, members: DataFrame
) -> DataFrame | None:
    """The members the workspace's suppression lists name or a partner's kept opt-outs reach
    (None without either); both are read at every export, so an entry added after a segment
    was computed still counts. Each list read is an input of the run's lineage."""
    found = [
        suppressed_members(
            members,
            keys,
            profile=list_profile(listing),
            default_country=workspace.config.seeds.default_country,
        )
        for listing, keys in suppression_keys(workspace, spark, job)
    ]
    opted_out = opted_out_members(workspace, spark)
    if opted_out is not None:
        found.append(
            members.join(opted_out, PROFILE_ID_FIELD, "left_semi").select(PROFILE_ID_FIELD)
        )
    return reduce(DataFrame.unionByName, found).distinct() if found else None


def consents_by_action(target: DestinationConfig) -> Column:
    """True where the member consented in the field each of the destination's actions needs."""
    return reduce(
        Column.__and__, [has_consent(f) for f in target.consent_by_action.values()], F.lit(True)
    )


def tcf_consents(target: DestinationConfig) -> Column:
    """True where the member's TC string consents to the destination's TCF purposes."""
    if target.tcf is None:
        return F.lit(True)
    return tcf_purposes_granted(F.col(target.tcf.field), target.tcf.purposes)


def size_refusal(workspace: Workspace, target: DestinationConfig, audience: int) -> str | None:
    """Why an audience is too small for the destination (its own minimum, else the
    workspace's), or None when it is large enough."""
    own = target.min_audience_size
    minimum = own if own is not None else workspace.config.privacy.min_audience_size
    if minimum is None or audience >= minimum:
        return None
    setting = (
        f"destination {target.name}'s min_audience_size"
        if own is not None
        else "the workspace's privacy.min_audience_size"
    )
    return (
        f"the audience has {audience:,} members after consent filtering, fewer than "
        f"{setting} of {minimum:,}"
    )


def refuse_for_size(
    workspace: Workspace, job: RunContext, decision: ActivationDecision, why: str
) -> JobResult:
    """Record a size refusal like a block: nothing exported, exit 3, the reason and remedies."""
    job.counts.update(
        allowed=False,
        refused=why,
        remedies=[
            "widen the segment, or export to a destination whose min_audience_size it meets",
        ],
    )
    write_decision_page(workspace, job, decision)
    return job.result()


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
            write_decision_page(workspace, job, decision)
            return job.result()
        job.counts["members"] = persons.count()
        opted_out = opted_out_current_persons(
            workspace, spark, workspace.partner(lineage_doc["partner"])
        )
        if opted_out is not None:
            persons = without_persons(persons, opted_out)
            job.counts["suppressed"] = job.counts["members"] - persons.count()
        job.counts["without_consent"] = 0  # prospects have no 1P consent; the partner's applies
        too_small = size_refusal(
            workspace, target, job.counts["members"] - job.counts.get("suppressed", 0)
        )
        if too_small:
            return refuse_for_size(workspace, job, decision, too_small)
        if dry_run:
            write_decision_page(workspace, job, decision)
            return job.result()
        rows = persons.select(
            persons["partner_id"].alias(namespace), persons["partner_id"].alias(MEMBER)
        )
        job.counts.update(
            deliver(workspace, spark, job, decision, target, rows, audience=decision.segment)
        )
        if "manifest" in job.counts:
            job.outputs["manifest"] = job.counts["manifest"]
        write_decision_page(workspace, job, decision)
    return job.result()


def export_rows(
    workspace: Workspace, members: DataFrame, destination: DestinationConfig
) -> DataFrame:
    """The destination's rows, each with the profile it belongs to (MEMBER, never exported)."""
    if destination.format in AD_PLATFORM_LAYOUTS:
        profile_name, _ = AD_PLATFORM_LAYOUTS[destination.format]
        return ad_platform_rows(
            members.withColumn(MEMBER, F.col(PROFILE_ID_FIELD)),
            layout=destination.format,
            profile=get_profile(profile_name),
            default_country=workspace.config.seeds.default_country,
            match_keys=destination.match_keys,
            keep=[MEMBER],
            consent_signals=destination.consent_signals,
        )
    rows = generic_rows(
        members, identities=destination.identities, attributes=destination.attributes
    )
    return rows.withColumn(MEMBER, F.col(PROFILE_ID_FIELD))


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
                "warnings": list(decision.warnings),
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
            write_decision_page(workspace, job, decision)
            return job.result()
        profiles = read_profiles(spark, workspace.warehouse)
        members = profiles.join(
            segment_membership(profiles, predicate_sql).withColumnRenamed(
                "profile_id", "profileId"
            ),
            on="profileId",
            how="left_semi",
        ).cache()
        job.counts["members"] = members.count()
        suppressed = suppressed_profiles(workspace, spark, job, members)
        kept = members
        if suppressed is not None:
            kept = members.join(suppressed, on=PROFILE_ID_FIELD, how="left_anti")
            job.counts["suppressed"] = job.counts["members"] - kept.count()
        consenting = kept.where(
            has_consent(target.consent_field)
            & consents_by_action(target)
            & grants(target.consent_signals, target.require_consent_signals)
            & tcf_consents(target)
        )
        consenting_count = consenting.count()
        job.counts["without_consent"] = (
            job.counts["members"] - job.counts.get("suppressed", 0) - consenting_count
        )
        too_small = size_refusal(workspace, target, consenting_count)
        if too_small:
            members.unpersist()
            return refuse_for_size(workspace, job, decision, too_small)
        if dry_run:
            write_decision_page(workspace, job, decision)
            return job.result()
        rows = export_rows(workspace, consenting, target)
        audience = f"{SEGMENTS_TABLE}/{segment}"
        job.counts.update(deliver(workspace, spark, job, decision, target, rows, audience=audience))
        if target.format in AD_PLATFORM_LAYOUTS:
            job.counts["without_identifiers"] = consenting_count - job.counts["audience_rows"]
        if "manifest" in job.counts:
            job.outputs["manifest"] = job.counts["manifest"]
        members.unpersist()
        write_decision_page(workspace, job, decision)
    return job.result()


@dataclass(frozen=True)
class PlannedExport:
    """An export's name and where its manifest will be, known before anything is written."""

    export_id: str
    manifest: str  # a local path or an s3:// URI


def plan_export(
    workspace: Workspace, job: RunContext, target: DestinationConfig, segment: str
) -> PlannedExport:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    export_id = f"{stamp}-{job.workflow_id[:8]}"
    if target.type == "s3":
        return PlannedExport(
            export_id, f"{target.path.rstrip('/')}/{segment}/{export_id}/{MANIFEST}"
        )
    folder = Path(workspace.resolve(target.path)) / segment / export_id
    return PlannedExport(export_id, str(folder / MANIFEST))


# What shapes the rows a destination holds: when one changes, the last export cannot be diffed.
STATE_SETTINGS = {
    "type",
    "path",
    "format",
    "identities",
    "attributes",
    "match_keys",
    "consent_signals",
}


def state_settings(target: DestinationConfig) -> dict[str, Any]:
    return target.model_dump(include=STATE_SETTINGS)


def state_unit(destination: str, audience: str) -> str:
    """`activation_state/<destination>/segments/<name>` (or `prospects/<name>`)."""
    return f"{ACTIVATION_STATE_TABLE}/{destination}/{audience}"


@dataclass(frozen=True)
class SyncBasis:
    """What an incremental export is diffed against, or why it sends the whole audience."""

    full_because: str | None = None
    last_sent: DataFrame | None = None
    previous_export: str | None = None


def unrecorded_export(
    ledger: Ledger, destination: str, segment: str, *, recorded_by: str
) -> str | None:
    """The export ID of a published export of this audience newer than the recorded one.

    Its run died (or failed) between publishing and committing the rows it sent, so the
    recorded rows are not what the destination holds: a diff against them could miss a
    member that export added and that has since left the audience.
    """
    for run in ledger.runs(job=JOB, limit=200):
        if run.workflow_id == recorded_by:
            return None
        for event in ledger.events(run.workflow_id):
            payload = event["payload"]
            ours = (payload.get("destination"), payload.get("segment")) == (destination, segment)
            if event["kind"] == EXPORT_EVENT and ours and manifest_published(payload["manifest"]):
                return str(payload.get("export_id", run.workflow_id))
    return None


def sync_basis(
    workspace: Workspace,
    spark: SparkSession,
    target: DestinationConfig,
    unit: str,
    segment: str,
) -> SyncBasis:
    """The rows the destination last received, if they can still be trusted to be there."""
    entry = read_manifest(workspace.warehouse, spark).tables.get(unit)
    if entry is None:
        return SyncBasis("no earlier export of this audience to this destination")
    before = entry.details
    if before.get("erased"):
        return SyncBasis("an erasure removed people this destination was sent")
    if before.get("settings") != state_settings(target):
        return SyncBasis("the destination's layout, exported fields or location changed")
    try:
        exported_at = datetime.fromisoformat(str(before.get("exported_at")))
    except ValueError:
        return SyncBasis("the last export recorded no time")
    age_days = (datetime.now(UTC) - exported_at).total_seconds() / 86_400
    if age_days > target.full_refresh_days:
        return SyncBasis(
            f"the last export is {age_days:.1f} days old "
            f"(full_refresh_days: {target.full_refresh_days:g})"
        )
    if not manifest_published(str(before.get("manifest", ""))):
        return SyncBasis("the last export's manifest is no longer at the destination")
    unrecorded = unrecorded_export(
        Ledger(workspace.ledger_path), target.name, segment, recorded_by=entry.workflow_id
    )
    if unrecorded is not None:
        return SyncBasis(
            f"export {unrecorded} was published by a run that ended before recording it"
        )
    last_sent = committed_table(spark, workspace.warehouse, unit)
    return SyncBasis(last_sent=last_sent, previous_export=before.get("export_id"))


REMOVE_PART = "remove"  # ad-platform layouts: the rows to take out, in files of their own


def deliver(
    workspace: Workspace,
    spark: SparkSession,
    job: RunContext,
    decision: ActivationDecision,
    target: DestinationConfig,
    rows: DataFrame,
    *,
    audience: str,
) -> dict[str, Any]:
    """Export the audience as the destination syncs it: whole, or what changed since the last
    export (with the rows now held recorded for the next). Returns the counts."""
    planned = plan_export(workspace, job, target, decision.segment)
    seconds: dict[str, float] = {}
    if target.sync == "full":
        with timed(seconds, "files"):
            parts = {"part": rows.drop(MEMBER)}
            counts = write_export(workspace, job, decision, target, planned, parts)
        return {**counts, "audience_rows": counts["exported_rows"], "seconds": seconds}
    unit = state_unit(target.name, audience)
    with timed(seconds, "basis"):
        basis = sync_basis(workspace, spark, target, unit, decision.segment)
    with timed(seconds, "state"):
        current = read_version(spark, write_table(with_digest(rows), job, unit))
    with timed(seconds, "diff"):
        diff, tally = changes_to_send(
            current, basis, keyed=target.format not in AD_PLATFORM_LAYOUTS
        )
    sync: dict[str, Any] = {
        "mode": "full" if basis.full_because else "incremental",
        "full_because": basis.full_because,
        "previous_export": basis.previous_export,
        "adds": tally.get(ADD, 0),
        "removes": tally.get(REMOVE, 0),
    }
    counts: dict[str, Any] = {"sync": sync, "audience_rows": tally["audience"], "seconds": seconds}
    if basis.full_because is None and sync["adds"] == sync["removes"] == 0:
        job.tables().unstage(unit)  # the destination already holds exactly these rows
        return {**counts, "exported_rows": 0, "files": 0}
    # A diff is usually small: a few files, not one per shuffle partition.
    diff = diff.coalesce(files_for(sync["adds"] + sync["removes"], target.max_rows_per_file))
    parts = {"part": diff}
    if target.format in AD_PLATFORM_LAYOUTS:  # no member column: removes in files of their own
        parts = {
            "part": diff.where(F.col(OPERATION) == ADD).drop(OPERATION),
            REMOVE_PART: diff.where(F.col(OPERATION) == REMOVE).drop(OPERATION),
        }
    job.tables().stage_version(
        unit,
        settings=state_settings(target),
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        export_id=planned.export_id,
        manifest=planned.manifest,
    )
    with timed(seconds, "files"):
        written = write_export(workspace, job, decision, target, planned, parts, sync=sync)
    diff.unpersist()
    return {**counts, **written}


def changes_to_send(
    current: DataFrame, basis: SyncBasis, *, keyed: bool
) -> tuple[DataFrame, dict[str, int]]:
    """The rows to send with their operation, and how many adds, removes and audience rows."""
    columns = exported_columns(current)
    audience = current.count()
    if basis.last_sent is None:
        return with_operation(current, ADD, columns), {ADD: audience, "audience": audience}
    changes = audience_changes(current, basis.last_sent, keyed=keyed)
    diff = (
        with_operation(changes.adds, ADD, columns)
        .unionByName(with_operation(changes.removes, REMOVE, columns))
        .cache()  # small, counted then written: the joins run once
    )
    tally = {row[OPERATION]: row["count"] for row in diff.groupBy(OPERATION).count().collect()}
    return diff, {**tally, "audience": audience}


def files_for(rows: int, max_rows_per_file: int) -> int:
    return max(1, -(-rows // max_rows_per_file))


def write_export(
    workspace: Workspace,
    job: RunContext,
    decision: ActivationDecision,
    target: DestinationConfig,
    planned: PlannedExport,
    parts: dict[str, DataFrame],
    *,
    sync: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Files split at the row limit, manifest written last; local rename or S3 upload.

    `parts` maps a file stem to its rows: `part` (the rows to load) and, for an incremental
    ad-platform export, `remove` (the rows to take out). The staging folder holds plaintext
    identifiers, so it is claimed by the run before it is created: a killed export's folder
    is removed by the next writer.
    """
    workflow_id = job.workflow_id
    export_id = planned.export_id
    staging = (
        Path(workspace.warehouse) / ".staging" / "exports" / f"{export_id}-{uuid.uuid4().hex[:6]}"
    )
    if target.type == "file":
        staging = Path(workspace.resolve(target.path)) / f".staging-{export_id}"
    job.claim(staging)
    staging.mkdir(parents=True)
    written = {
        stem: write_files(
            frame,
            staging,
            file_format=target.format if target.format in ("csv", "jsonl", "parquet") else "csv",
            max_rows_per_file=target.max_rows_per_file,
            stem=stem,
        )
        for stem, frame in parts.items()
    }
    files = written.get("part", [])
    removed = written.get(REMOVE_PART, [])
    manifest = {
        "segment": decision.segment,
        "destination": decision.destination,
        "workflow_id": workflow_id,
        "export_id": export_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "format": target.format,
        "marketing_actions": target.marketing_actions,
        "rows": sum(f["rows"] for f in [*files, *removed]),
        "files": files,
        "labels": decision.fingerprint["labels"],
        "policies_evaluated": {e.action: list(e.evaluated_policies) for e in decision.evaluations},
        "lineage": [item.model_dump() for item in decision.lineage],
    }
    if REMOVE_PART in parts:
        manifest["remove_files"] = removed
    if sync is not None:
        manifest["sync"] = sync
    fault_point("export_staged")
    location = planned.manifest
    prefix = location.rsplit("/", 1)[0]
    event = {
        "manifest": location,
        "export_id": export_id,
        "destination": decision.destination,
        "segment": decision.segment,
    }
    if target.type == "s3":
        job.claim(s3_staging_uri(staging, prefix))  # removed by the next writer if we die
        job.claim(f"{prefix}/")  # unless its manifest made it out
        job.ledger.record_event(workflow_id, EXPORT_EVENT, event)
        publish_s3(staging, prefix, manifest)
    else:
        job.ledger.record_event(workflow_id, EXPORT_EVENT, event)
        publish_local(staging, Path(prefix), manifest)
    fault_point("export_published")
    job.noted_write(
        DatasetNote(
            uri=prefix,
            fields=schema_fields(parts["part"].schema) if "part" in parts else (),
            rows=manifest["rows"],
            labels=tuple(
                (code, None)
                for code in dict.fromkeys(
                    c for codes in decision.fingerprint["labels"].values() for c in codes
                )
            ),
        )
    )
    return {
        "exported_rows": manifest["rows"],
        "files": len(files) + len(removed),
        "manifest": location,
    }


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
