"""The match job: join prepared seeds to a partner universe, score, pick, report, export."""

from __future__ import annotations

from pyspark.sql import SparkSession

from ingest.ledger import Ledger
from ingest.matching import (
    choose_canonical,
    match_evidence,
    match_stats,
    matched_since,
    score_candidates,
    seed_hash_keys,
)
from jobs.config import PartnerConfig, Workspace
from jobs.history import match_drift, match_history, point_of
from jobs.runtime.runs import JobResult, RunContext, open_run
from jobs.warehouse.catalogue import MATCH_EVIDENCE_TABLE, MATCHES_TABLE, SEED_IDENTIFIERS_TABLE
from jobs.warehouse.tables import (
    committed_table,
    export_table,
    read_committed,
    read_version,
    write_table,
)
from jobs.warehouse.universe import load_universe_identifiers, universe_delivery

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
) -> dict[str, object]:
    seed_ids = read_committed(
        spark,
        workspace.warehouse,
        SEED_IDENTIFIERS_TABLE,
        partner.name,
        remedy=f"run `partnerkit prepare --partner {partner.name}` or "
        "`partnerkit match --prepare` first",
    )
    universe_ids, universe = load_universe_identifiers(workspace, spark, partner)
    # Read before this run stages its own version: the matches the last run left.
    previous = committed_table(spark, workspace.warehouse, MATCHES_TABLE, partner.name)
    seed_keys = seed_hash_keys(seed_ids, hash_type=partner.hash, encoding=partner.hash_encoding)
    evidence = match_evidence(
        seed_keys,
        universe_ids,
        partner=partner.name,
        hash_type=partner.hash,
        criterion_scores=partner.match.criterion_scores,
        workflow_id=job.workflow_id,
        broadcast_seeds=seed_keys.count() <= BROADCAST_MAX_ROWS,
    )
    evidence_path = write_table(evidence, job, MATCH_EVIDENCE_TABLE, partner=partner.name)
    evidence = read_version(spark, evidence_path, partner.name)
    matches = choose_canonical(
        score_candidates(evidence), threshold=partner.match.threshold, workflow_id=job.workflow_id
    )
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
    stats = match_stats(seed_ids, evidence, matches, hash_type=partner.hash)
    stats["evidence_rows"] = evidence.count()
    stats["universe"] = universe
    stats["delivery"] = universe_delivery(workspace, partner.name)
    if previous is not None:
        stats.update(matched_since(previous, matches))
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
) -> JobResult:
    """Match every configured partner (or one); stats per partner go into the result."""
    partners = [workspace.partner(partner)] if partner else list(workspace.config.partners)
    with open_run(workspace, JOB, spark=spark) as job:
        for partner_config in partners:
            job.counts[partner_config.name] = match_partner(
                workspace, spark, partner_config, job, export_format=export_format
            )
    return job.result()
