"""The resolve job: an ad-hoc lookup of a few identifiers, answered with matched persons."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

from ingest.identity import reference
from ingest.identity.profiles import get_profile
from ingest.matching import (
    combine_scores,
    match_evidence,
    seed_hash_keys,
)
from jobs.config import Workspace
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.universe import load_universe_identifiers

JOB = "resolve"


def hash_request(
    values: dict[str, list[str]],
    *,
    profile_name: str,
    hash_type: str,
    encoding: str,
    default_country: str | None,
) -> list[dict[str, Any]]:
    """Normalize and hash each requested identifier with the partner's rules (pure Python)."""
    profile = get_profile(profile_name)
    hashed = []
    for kind, items in values.items():
        for value in items:
            result = reference.normalize_written(
                kind, profile, value, default_country=default_country
            )
            digest = (
                reference.hash_value(result.value, hash_type, encoding)
                if result.value is not None
                else None
            )
            hashed.append({"kind": kind, "hash": digest, "reason": result.reason})
    return hashed


def identities_from_evidence(rows: list[Any], hashed: list[dict[str, Any]]) -> list[dict]:
    """Group evidence per partner person: best score per criterion, then Noisy-OR."""
    per_person: dict[str, dict[str, tuple[float, str]]] = {}
    for row in rows:
        criteria = per_person.setdefault(row.partner_id, {})
        value = hashed[int(row.profile_id)]["hash"]
        if (
            row.criterion_type not in criteria
            or criteria[row.criterion_type][0] < row.quality_score
        ):
            criteria[row.criterion_type] = (row.quality_score, value)
    identities = []
    for person, criteria in per_person.items():
        identities.append(
            {
                "person_id": person,
                "overall_quality_score": combine_scores(s for s, _ in criteria.values()),
                "matches": [
                    {"criterion_type": criterion, "criterion_value": value, "quality_score": score}
                    for criterion, (score, value) in sorted(criteria.items())
                ],
            }
        )
    return sorted(identities, key=lambda i: (-i["overall_quality_score"], i["person_id"]))


def run(
    workspace: Workspace, spark: SparkSession, *, partner: str, values: dict[str, list[str]]
) -> tuple[JobResult, dict[str, Any]]:
    """Look the identifiers up in the partner universe; criterion values are shown hashed."""
    config = workspace.partner(partner)
    with open_run(workspace, JOB, spark=spark, writes=False) as job:
        hashed = hash_request(
            values,
            profile_name=config.profile,
            hash_type=config.hash,
            encoding=config.hash_encoding,
            default_country=workspace.config.seeds.default_country,
        )
        universe_ids, _detected = load_universe_identifiers(workspace, spark, config)
        # Each requested value is its own pseudo-profile, so evidence says which one matched.
        requested = spark.createDataFrame(
            [(str(i), h["kind"], h["hash"], h["reason"]) for i, h in enumerate(hashed)],
            "profile_id string, kind string, hash string, reason string",
        )
        evidence = match_evidence(
            seed_hash_keys(requested, hash_type=config.hash, encoding=config.hash_encoding),
            universe_ids,
            partner=partner,
            hash_type=config.hash,
            criterion_scores=config.match.criterion_scores,
            workflow_id=job.workflow_id,
            broadcast_seeds=True,
        )
        evidence_rows = evidence.collect()
        identities = identities_from_evidence(evidence_rows, hashed)
        resolved = len({r.profile_id for r in evidence_rows})
        stats = {
            "requested": len(hashed),
            "resolved": resolved,
            "rate": round(resolved / len(hashed), 2) if hashed else 0.0,
        }
        job.counts.update(stats)
        rejected = [{"kind": h["kind"], "reason": h["reason"]} for h in hashed if h["reason"]]
    response = {
        "identities": identities,
        "stats": stats,
        "rejected": rejected,
        "workflow_id": job.workflow_id,
    }
    return job.result(), response
