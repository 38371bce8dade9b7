"""The match job: join prepared seeds to a partner universe, score, pick, report, export."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.ledger import Ledger
from ingest.matching import (
    match_evidence,
    match_stats,
    matched_since,
    pick_matches,
    rematched_evidence,
    seed_hash_keys,
)
from ingest.optouts import without_persons
from jobs.config import PartnerConfig, Workspace
from jobs.history import match_drift, match_history, point_of
from jobs.incremental import MatchChanges, changes_since_last_match, match_basis
from jobs.runtime.runs import JobResult, RunContext, open_run, timed
from jobs.warehouse.catalogue import MATCH_EVIDENCE_TABLE, MATCHES_TABLE, SEED_IDENTIFIERS_TABLE
from jobs.warehouse.optouts import opted_out_universe_persons
from jobs.warehouse.suppression import suppressed_seed_profiles
from jobs.warehouse.tables import (
    committed_table,
    current_version,
    export_table,
    read_committed,
    read_version,
    write_table,
)
from jobs.warehouse.universe import (
    ingested_identifiers,
    load_universe_identifiers,
    universe_delivery,
)

JOB = "match"
# Above this many accepted seed identifiers the seed side is shuffled instead of broadcast.
BROADCAST_MAX_ROWS = 3_000_000


def match_partner(
    workspace: Workspace,
    spark: SparkSession,
    partner: PartnerConfig,
    job: RunContext,
    *,
    export_format: str | None,
    full: bool = False,
    suppression: tuple[DataFrame | None, str],
) -> dict[str, object]:
    """Match one partner; `suppression`: the seeds the brand's lists name (read once per run,
    already materialised) and the lists' fingerprint."""
    seed_ids = read_committed(
        spark,
        workspace.warehouse,
        SEED_IDENTIFIERS_TABLE,
        partner.name,
        remedy=f"run `partnerkit prepare --partner {partner.name}` or "
        "`partnerkit match --prepare` first",
    )
    universe_ids, universe = load_universe_identifiers(workspace, spark, partner)
    # The ingest run of the committed universe: None when the delivery file was read instead.
    delivery = universe_delivery(workspace, partner.name)
    seeds_version = current_version(workspace.warehouse, SEED_IDENTIFIERS_TABLE, partner.name)
    suppressed, lists = suppression
    basis = match_basis(partner, delivery=delivery, seeds=seeds_version or "", suppression=lists)
    seconds: dict[str, float] = {}
    with timed(seconds, "changes"):
        changes = (
            MatchChanges.full("--full was given")
            if full
            else changes_since_last_match(workspace, spark, partner, seed_ids, basis=basis)
        )
        changed = changes.counts  # computes (and caches) the changes
    # Read before this run stages its own versions: what the last run left.
    previous = committed_table(spark, workspace.warehouse, MATCHES_TABLE, partner.name)
    previous_evidence = committed_table(
        spark, workspace.warehouse, MATCH_EVIDENCE_TABLE, partner.name
    )
    seed_keys = seed_hash_keys(seed_ids, hash_type=partner.hash, encoding=partner.hash_encoding)
    if suppressed is not None:  # the brand's own opt-outs are never matched
        seed_keys = seed_keys.join(F.broadcast(suppressed), "profile_id", "left_anti")
    if changes.full_because is None and previous_evidence is not None:
        evidence = rematched_evidence(
            previous_evidence,
            seed_keys,
            changed_persons=changes.changed_persons,
            upserted_ids=None
            if changes.upserted is None
            else ingested_identifiers(changes.upserted, partner),
            changed_profiles=changes.changed_profiles,
            universe_ids=universe_ids,
            partner=partner.name,
            hash_type=partner.hash,
            criterion_scores=partner.match.criterion_scores,
            workflow_id=job.workflow_id,
        )
    else:
        evidence = match_evidence(
            seed_keys,
            universe_ids,
            partner=partner.name,
            hash_type=partner.hash,
            criterion_scores=partner.match.criterion_scores,
            workflow_id=job.workflow_id,
            broadcast_seeds=seed_keys.count() <= BROADCAST_MAX_ROWS,
        )
    # Opt-outs only accumulate: dropping opted-out persons from whatever evidence was built
    # (a full match, or the previous evidence carried forward) keeps every run exact.
    opted_out = opted_out_universe_persons(workspace, spark, partner, universe_ids)
    if opted_out is not None:
        opted_out = opted_out.localCheckpoint()
        evidence = without_persons(evidence, opted_out)
    if suppressed is not None:  # evidence carried over from before they were listed
        evidence = evidence.join(F.broadcast(suppressed), "profile_id", "left_anti")
    with timed(seconds, "evidence"):
        evidence_path = write_table(
            evidence, job, MATCH_EVIDENCE_TABLE, partner=partner.name, details=basis
        )
    evidence = read_version(spark, evidence_path, partner.name)
    matches = pick_matches(evidence, threshold=partner.match.threshold, workflow_id=job.workflow_id)
    with timed(seconds, "pick"):
        matches_path = write_table(matches, job, MATCHES_TABLE, partner=partner.name)
    matches = read_version(spark, matches_path, partner.name)
    job.outputs[f"{MATCH_EVIDENCE_TABLE}.{partner.name}"] = evidence_path
    job.outputs[f"{MATCHES_TABLE}.{partner.name}"] = matches_path
    if export_format:
        folder = workspace.reports_dir / "match" / partner.name
        for name, frame in ((MATCHES_TABLE, matches), (MATCH_EVIDENCE_TABLE, evidence)):
            job.outputs[f"export.{name}.{partner.name}"] = str(
                export_table(frame, folder / f"{name}.{export_format}", export_format)
            )
    with timed(seconds, "stats"):
        stats = match_stats(seed_ids, evidence, matches, hash_type=partner.hash)
        stats["evidence_rows"] = evidence.count()
    stats["universe"] = universe
    stats["opted_out_persons"] = opted_out.count() if opted_out is not None else 0
    stats["delivery"] = delivery
    stats["mode"] = "full" if changes.full_because else "incremental"
    stats["full_because"] = changes.full_because
    stats.update(changed)
    if previous is not None:
        with timed(seconds, "stats"):
            stats.update(matched_since(previous, matches))
    stats["seconds"] = seconds
    earlier = match_history(Ledger(workspace.ledger_path), partner.name)
    point = point_of(stats, workflow_id=job.workflow_id, started_at="")
    stats["drift"] = match_drift(earlier[-1] if earlier else None, point, partner.monitoring)
    return stats


def run(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: str | None = None,
    export_format: str | None = None,
    full: bool = False,
) -> JobResult:
    """Match every configured partner (or one); stats per partner go into the result.

    Incremental unless `full`: only seeds and partner persons changed since the partner's
    last match are matched again (see jobs.incremental), with the full run's result."""
    partners = [workspace.partner(partner)] if partner else list(workspace.config.partners)
    with open_run(workspace, JOB, spark=spark) as job:
        suppressed, lists = suppressed_seed_profiles(workspace, spark, job)
        if suppressed is not None:
            suppressed = suppressed.localCheckpoint()
        for partner_config in partners:
            job.counts[partner_config.name] = match_partner(
                workspace,
                spark,
                partner_config,
                job,
                export_format=export_format,
                full=full,
                suppression=(suppressed, lists),
            )
    return job.result()
