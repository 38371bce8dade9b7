"""The forget job: erase people from every table that holds them, purge the versions that
held them, keep them out from then on, and write a receipt that holds no identifier.

The people are named by profile ID, email or phone (keys: `ingest.erasure`). The seeds table
says which profiles they are; every table unit holding profiles (or the partner persons
matched to them) gets a new version without their rows, committed together. Once the commit
stands, every older version of those units is removed (not just hidden): erasure cannot wait
for vacuum. Their keys go into `forgotten`, which prepare reads, so a seed file that still
lists them does not bring them back (and so no later profile, match or export holds them).
Past exports that held them are found from the export manifests the ledger records (see
`jobs.warehouse.erasure_exports`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.erasure import KINDS, names_any, request_keys
from ingest.identity.profiles import get_profile
from ingest.ledger import Ledger
from jobs.config import Workspace
from jobs.errors import WorkspaceError
from jobs.runtime.runs import JobResult, RunContext, open_run
from jobs.warehouse.catalogue import (
    ACTIVATION_STATE_TABLE,
    ATTRIBUTE_EVIDENCE_TABLE,
    CANONICAL_TABLE,
    FORGOTTEN_TABLE,
    MATCH_EVIDENCE_TABLE,
    MATCHES_TABLE,
    PROFILES_TABLE,
    PROSPECTS_TABLE,
    SEED_IDENTIFIERS_TABLE,
    SEED_QUARANTINE_TABLE,
    SEED_ROWS_QUARANTINE_TABLE,
    SEEDS_TABLE,
    SEGMENTS_TABLE,
)
from jobs.warehouse.commits import (
    VERSION_PREFIX,
    Store,
    commit_history,
    read_manifest,
)
from jobs.warehouse.erasure_exports import past_exports, removal_folder
from jobs.warehouse.forgotten import KEY_PROFILE, seed_row_keys
from jobs.warehouse.paths import remove, replace_text
from jobs.warehouse.tables import committed_table, write_table

JOB = "forget"
RECEIPT_EVENT = "erasure_receipt"
SCOPE = "scope"  # the units an erasure covered, noted on its `forgotten` version
# Tables whose rows are profiles, by the column naming the profile.
BY_PROFILE = {
    SEED_IDENTIFIERS_TABLE: "profile_id",
    SEED_QUARANTINE_TABLE: "profile_id",
    MATCH_EVIDENCE_TABLE: "profile_id",
    MATCHES_TABLE: "profile_id",
    PROFILES_TABLE: "profileId",
    ATTRIBUTE_EVIDENCE_TABLE: "profile_id",
    CANONICAL_TABLE: "profile_id",
    SEGMENTS_TABLE: "profile_id",
}
NOT_ERASED = (
    "the seed file and other input files (the brand's source: erase the person there; the "
    "next prepare skips them meanwhile)",
    "partner deliveries (partner/<p>): the partner's own records of its persons, replaced by "
    "its next delivery; opt-outs and deletes from the partner remove them",
    "files already at a destination: listed under exports, with removal files",
)


@dataclass(frozen=True)
class People:
    """Who is being forgotten: their keys, profile IDs and matched partner persons."""

    keys: frozenset[str]
    profile_ids: frozenset[str]
    persons: frozenset[str]


def _requests_frame(
    spark: SparkSession, profile_ids: list[str], emails: list[str], phones: list[str]
) -> DataFrame:
    rows = [(p, None, None) for p in profile_ids]
    rows += [(None, e, None) for e in emails] + [(None, None, p) for p in phones]
    return spark.createDataFrame(rows, "profile_id string, email string, phone string")


def _read_unit(spark: SparkSession, store: Store, manifest_folders: list[str], unit: str):
    return spark.read.parquet(*[store.uri(f"{unit}/{folder}") for folder in manifest_folders])


def find_people(
    workspace: Workspace, spark: SparkSession, requested: set[str], profile_ids: list[str]
) -> People:
    """The seeds the requests name (any spelling of their email or phone), their keys (so a
    later seed row with the same email or phone is known) and the persons matched to them."""
    seeds = committed_table(spark, workspace.warehouse, SEEDS_TABLE)
    ids = set(profile_ids)
    keys = set(requested)
    if seeds is not None:
        seed_keys = seed_row_keys(workspace, seeds)
        named = seeds.where(names_any(seed_keys, requested)).select(
            F.col(f"`{workspace.config.seeds.columns.profile_id}`").cast("string").alias("id"),
            F.array_compact(F.array(*seed_keys)).alias("keys"),
        )
        for row in named.collect():
            ids.add(row["id"])
            keys.update(row["keys"])
    persons: set[str] = set()
    for partner in workspace.config.partners:
        matches = committed_table(spark, workspace.warehouse, MATCHES_TABLE, partner.name)
        if matches is not None and ids:
            theirs = matches.where(F.col("profile_id").isin(*sorted(ids)))
            persons.update(r["partner_id"] for r in theirs.select("partner_id").collect())
    return People(frozenset(keys), frozenset(ids), frozenset(persons))


def row_filter(workspace: Workspace, unit: str, frame: DataFrame, people: People) -> Column | None:
    """The rows of a unit that belong to the people, or None for a unit that holds none."""
    table = unit.split("/partner=")[0]
    if table == SEEDS_TABLE or table == SEED_ROWS_QUARANTINE_TABLE:
        return names_any(seed_row_keys(workspace, frame), people.keys)
    if table in BY_PROFILE or table.startswith(f"{SEGMENTS_TABLE}/"):
        column = BY_PROFILE.get(table, "profile_id")
        return F.col(column).cast("string").isin(*sorted(people.profile_ids or {""}))
    if table.startswith(f"{PROSPECTS_TABLE}/"):
        return F.col("partner_id").isin(*sorted(people.persons or {""}))
    if table.startswith(f"{ACTIVATION_STATE_TABLE}/"):
        members = people.persons if f"/{PROSPECTS_TABLE}/" in table else people.profile_ids
        return F.col("_member").cast("string").isin(*sorted(members or {""}))
    return None


def erase_units(
    workspace: Workspace, spark: SparkSession, job: RunContext, people: People
) -> tuple[dict[str, int], list[str]]:
    """Rows removed per unit (a new version for each that held any), and every unit in scope."""
    store = Store(workspace.warehouse, spark)
    manifest = read_manifest(workspace.warehouse, spark)
    removed: dict[str, int] = {}
    scope = []
    for unit, entry in sorted(manifest.tables.items()):
        frame = _read_unit(spark, store, entry.folders, unit)
        theirs = row_filter(workspace, unit, frame, people)
        if theirs is None:
            continue
        scope.append(unit)
        count = frame.where(theirs).count()
        if count:
            details = dict(entry.details)
            if unit.startswith(f"{ACTIVATION_STATE_TABLE}/"):
                # the destination still holds them: its next export is a whole one
                details["erased"] = job.workflow_id
            write_table(frame.where(~theirs), job, unit, details=details)
            removed[unit] = count
    return removed, scope


def remember(
    workspace: Workspace, spark: SparkSession, job: RunContext, people: People, scope: list[str]
) -> int:
    """Add the people's keys to `forgotten` (hashes only); how many keys it holds now.

    The version's details name the units the erasure covered (`scope`): the purge after the
    commit reads them there, in the commit record, not from the editable pending receipt."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    added = spark.createDataFrame(
        [(k, now, job.workflow_id) for k in sorted(people.keys)],
        "key string, forgotten_at string, workflow_id string",
    )
    previous = committed_table(spark, workspace.warehouse, FORGOTTEN_TABLE)
    if previous is not None:
        added = added.join(previous.select("key"), "key", "left_anti")
    kept = reduce(DataFrame.unionByName, [f for f in (previous, added) if f is not None])
    path = write_table(kept, job, FORGOTTEN_TABLE, details={SCOPE: scope})
    return spark.read.parquet(path).count()


def erasure_scopes(store: Store) -> dict[str, list[str]]:
    """The units each committed forget run covered, by workflow ID, from the commit records:
    the scope it noted on its `forgotten` version, or (a run from before the scope was
    noted) the units it rewrote."""
    scopes = {}
    for record in commit_history(store):
        if record.job != JOB:
            continue
        entry = record.tables.get(FORGOTTEN_TABLE)
        noted = entry.details.get(SCOPE) if entry is not None else None
        scopes[record.workflow_id] = (
            [str(unit) for unit in noted]
            if isinstance(noted, list)
            else sorted(unit for unit in record.tables if unit != FORGOTTEN_TABLE)
        )
    return scopes


def purge_replaced(workspace: Workspace, spark: SparkSession, units: list[str]) -> list[str]:
    """Remove every version of the units that is not current (after the commit): the
    versions that held the people are gone, not merely replaced."""
    store = Store(workspace.warehouse, spark)
    current = read_manifest(workspace.warehouse, spark).tables
    purged = []
    for unit in units:
        live = set(current[unit].folders) if unit in current else set()
        for name in store.names(unit):
            if name.startswith(VERSION_PREFIX) and name not in live:
                store.remove(f"{unit}/{name}")
                purged.append(f"{unit}/{name}")
    return purged


def receipt_document(job: RunContext, requested: set[str], people: People) -> dict[str, Any]:
    """What the receipt says before the purge and exports are added: hashes and counts."""
    return {
        "workflow_id": job.workflow_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "requests": sorted(requested),
        "profiles": sorted(k for k in people.keys if k.startswith("profile_id:")),
        "partner_persons": len(people.persons),
        "not_erased": list(NOT_ERASED),
    }


def pending_receipt(workspace: Workspace, workflow_id: str) -> Path:
    """Where a run's receipt waits from before its commit until it is complete."""
    return workspace.reports_dir / "forget" / ".pending" / f"{workflow_id}.json"


def receipt_path(workspace: Workspace, workflow_id: str) -> Path:
    return workspace.reports_dir / "forget" / f"{workflow_id}.json"


def complete_receipt(
    workspace: Workspace, spark: SparkSession, receipt: dict[str, Any], scope: list[str]
) -> Path:
    """After the commit: purge the replaced versions of the units in `scope` (the run's own,
    or its commit record's: never the pending file's), write the receipt and its ledger
    event, then drop the pending copy (a kill in between leaves the pending copy)."""
    done = receipt_path(workspace, receipt["workflow_id"])
    pending = pending_receipt(workspace, receipt["workflow_id"])
    if not done.is_file():
        final = {k: v for k, v in receipt.items() if k != SCOPE}
        final["purged_versions"] = purge_replaced(workspace, spark, scope)
        replace_text(done, json.dumps(final, indent=1, sort_keys=True))
        Ledger(workspace.ledger_path).record_event(receipt["workflow_id"], RECEIPT_EVENT, final)
    remove(pending, [workspace.reports_dir])
    return done


def finish_earlier_receipts(workspace: Workspace, spark: SparkSession) -> list[str]:
    """Receipts of forget runs that died after their commit are completed now; those of runs
    that never committed are dropped (their erasure did not happen). Writer lock held."""
    folder = pending_receipt(workspace, "-").parent
    if not folder.is_dir():
        return []
    scopes = erasure_scopes(Store(workspace.warehouse, spark))
    finished = []
    for pending in sorted(folder.glob("*.json")):
        receipt = json.loads(pending.read_text(encoding="utf-8"))
        if receipt["workflow_id"] in scopes:
            complete_receipt(workspace, spark, receipt, scopes[receipt["workflow_id"]])
            finished.append(receipt["workflow_id"])
        else:
            remove(pending, [workspace.reports_dir])
    return finished


def _write_pending(workspace: Workspace, receipt: dict[str, Any]) -> None:
    pending = pending_receipt(workspace, receipt["workflow_id"])
    replace_text(pending, json.dumps(receipt, indent=1, sort_keys=True))


def _completed_after_commit(
    workspace: Workspace,
    spark: SparkSession,
    job: RunContext,
    receipt: dict[str, Any],
    scope: list[str],
) -> Callable[[], None]:
    def finish() -> None:
        done = complete_receipt(workspace, spark, receipt, scope)
        job.outputs["receipt"] = str(done)
        purged = json.loads(done.read_text(encoding="utf-8"))["purged_versions"]
        job.counts["purged_versions"] = len(purged)

    return finish


def read_requests(path: Path) -> dict[str, list[str]]:
    """A CSV of requests: its `profile_id`, `email` and `phone` columns (any of them)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
            header = rows[0].keys() if rows else []
    except (OSError, UnicodeDecodeError) as error:
        raise WorkspaceError(
            str(path), f"a readable UTF-8 CSV of requests ({type(error).__name__})"
        ) from None
    if not set(header) & set(KINDS):
        raise WorkspaceError(str(path), "a CSV with a header naming profile_id, email or phone")
    return {
        k: [r[k].strip() for r in rows if (r.get(k) or "").strip()] for k in KINDS if k in header
    }


def run(
    workspace: Workspace,
    spark: SparkSession,
    *,
    profile_ids: Sequence[str] = (),
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    requests_file: Path | None = None,
) -> JobResult:
    """Erase the people named (and those of `requests_file`); the outputs name the receipt."""
    profile_ids, emails, phones = list(profile_ids), list(emails), list(phones)
    if requests_file is not None:
        for kind, values in read_requests(requests_file).items():
            {"profile_id": profile_ids, "email": emails, "phone": phones}[kind].extend(values)
    requests = _requests_frame(spark, profile_ids, emails, phones)
    profile = get_profile(KEY_PROFILE)
    keyed = request_keys(
        requests, profile=profile, default_country=workspace.config.seeds.default_country
    )
    requested = {r["key"] for r in keyed.collect()}
    if not requested:
        raise WorkspaceError(
            "forget requests",
            "at least one usable --profile-id, --email or --phone (an email with an @, a "
            "phone number with enough digits for its country)",
        )
    with open_run(workspace, JOB, spark=spark) as job:
        job.counts["earlier_receipts_completed"] = finish_earlier_receipts(workspace, spark)
        people = find_people(workspace, spark, requested, [p.strip() for p in profile_ids])
        receipt = receipt_document(job, requested, people)
        # The removal files are part of the erasure's record: gone with a run that never
        # commits, kept with one that does (even if it dies before its receipt).
        job.claim(removal_folder(workspace, job.workflow_id), kept_if_committed=True)
        receipt["exports"], receipt["unchecked_exports"], receipt["removal_files"] = past_exports(
            workspace, spark, job, people.profile_ids, people.persons
        )
        removed, scope = erase_units(workspace, spark, job, people)
        receipt["tables"] = removed
        job.counts.update(
            requests=len(requested),
            profiles=len(people.profile_ids),
            partner_persons=len(people.persons),
            rows_removed=removed,
            exports=len(receipt["exports"]),
        )
        job.counts["forgotten_keys"] = remember(workspace, spark, job, people, scope)
        _write_pending(workspace, receipt)
        job.after_commit.append(_completed_after_commit(workspace, spark, job, receipt, scope))
    return job.result()
