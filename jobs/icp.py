"""The icp job: what the brand's enriched customers have in common, under policy.

ICP analysis is a `dataScience` use of the partner's data: it is evaluated against the
policies first (refused with the usual chain when a label forbids it) and audited.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.audiences.exports import segment_membership
from ingest.audiences.icp import (
    attribute_frequencies,
    attribute_items,
    attribute_pairs,
    frequent_itemsets,
    top_by,
)
from ingest.audiences.overlap import withheld
from jobs.config import PartnerConfig, Workspace
from jobs.data_science import attribute_fields, evaluate_data_science, refused
from jobs.reports.icp import icp_report_html
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.paths import replace_text
from jobs.warehouse.tables import read_profiles
from jobs.warehouse.universe import load_clusters
from jobs.workspace_schema import parse_segment

JOB = "icp"
TOP = 20


def icp_members(
    workspace: Workspace, spark: SparkSession, partner: str, segment: str | None
) -> DataFrame:
    """Enriched profiles (of one segment, if given) that carry the partner's record."""
    profiles = read_profiles(spark, workspace.warehouse)
    if segment:
        predicate = parse_segment(workspace, workspace.segment(segment)).sql
        members = segment_membership(profiles, predicate).withColumnRenamed(
            "profile_id", "profileId"
        )
        profiles = profiles.join(members, on="profileId", how="left_semi")
    return profiles.where(F.col(f"_partner.`{partner}`").isNotNull())


def analyse(
    items: DataFrame,
    clusters: DataFrame,
    *,
    members: int,
    universe_size: int,
    min_support: float,
    k: int = 1,
) -> dict[str, Any]:
    """Top attributes, pairs, itemsets of 3+ and rules, as JSON-ready rows; groups of fewer
    than `k` members are left out (as a clean room withholds small counts)."""
    frequencies = attribute_frequencies(
        items, clusters, members=members, universe_size=universe_size
    )
    frequencies = frequencies.where(F.col("count") >= k).cache()
    by_frequency = top_by(frequencies, [F.col("count").desc(), "name", "value"], TOP)
    over = frequencies.where((F.col("rate") >= min_support) & (F.col("lift") >= 1.0))
    by_lift = top_by(over, [F.col("lift").desc(), "name", "value"], TOP).collect()
    top_items = [(r["name"], r["value"]) for r in by_lift]
    result: dict[str, Any] = {
        "top_attributes": [
            r.asDict()
            for r in by_frequency.orderBy(F.col("count").desc(), "name", "value").collect()
        ],
        "top_lift": [r.asDict() for r in by_lift],
        "pairs": [],
        "itemsets": [],
        "rules": [],
    }
    if len(top_items) >= 2:
        pairs = attribute_pairs(items, top_items, members=members).where(
            (F.col("support") >= min_support) & (F.col("count") >= k)
        )
        result["pairs"] = [
            r.asDict()
            for r in pairs.orderBy(F.col("lift").desc(), F.col("count").desc(), "a", "b")
            .limit(TOP)
            .collect()
        ]
        itemsets, rules = frequent_itemsets(items, top_items, min_support=min_support)
        result["itemsets"] = [
            r.asDict()
            for r in itemsets.where((F.col("size") >= 3) & (F.col("count") >= k))
            .orderBy(F.col("count").desc(), F.col("size").desc())
            .limit(TOP)
            .collect()
        ]
        result["rules"] = [
            r.asDict()
            for r in rules.where(F.col("support") * members >= k)
            .orderBy(F.col("lift").desc())
            .limit(TOP)
            .collect()
        ]
    frequencies.unpersist()
    return result


def suggestions(analysis: dict[str, Any], hashes: dict[str, str]) -> dict[str, str]:
    """The three suggested expressions: precision (AND of the top itemset), reach (OR of the top
    attributes by lift), hybrid (OR of the top pairs, each an AND)."""
    suggested = {}
    if analysis["itemsets"]:
        suggested["precision"] = " AND ".join(hashes[i] for i in analysis["itemsets"][0]["items"])
    top = [hashes[f"{r['name']}={r['value']}"] for r in analysis["top_lift"][:5]]
    if top:
        suggested["reach"] = " OR ".join(top)
    groups = [f"({hashes[p['a']]} AND {hashes[p['b']]})" for p in analysis["pairs"][:3]]
    if groups:
        suggested["hybrid"] = " OR ".join(groups)
    return suggested


def run(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: str,
    segment: str | None = None,
    min_support: float = 0.1,
) -> JobResult:
    """Governance first; then the ICP of the enriched seed set (or one segment)."""
    config: PartnerConfig = workspace.partner(partner)
    fields = attribute_fields(workspace, partner)
    segment_fields = parse_segment(workspace, workspace.segment(segment)).fields if segment else ()
    with open_run(workspace, JOB, spark=spark) as job:
        job.counts.update({"partner": partner, "segment": segment, "min_support": min_support})
        used = [path for path, _ in fields.values()]
        evaluation = evaluate_data_science(workspace, job, partner, used, segment_fields)
        if not evaluation.allowed:
            return refused(job, evaluation)
        job.counts["allowed"] = True
        clusters, universe_size = load_clusters(workspace, spark, config)
        members_frame = icp_members(workspace, spark, partner, segment).cache()
        items = attribute_items(
            members_frame,
            key=F.col("profileId"),
            attributes={name: F.col(path) for name, (path, _) in fields.items()},
            domains={name: domain for name, (_, domain) in fields.items()},
        ).cache()
        members = members_frame.count()
        k = workspace.config.privacy.k
        job.counts.update({"members": withheld(members, k), "universe_size": universe_size, "k": k})
        if members < k:  # nothing about so few people is shown, not even how few
            return job.result()
        analysis = analyse(
            items,
            clusters,
            members=members,
            universe_size=universe_size,
            min_support=min_support,
            k=k,
        )
        hashes = {
            f"{r['name']}={r['value']}": r["cluster_hash"]
            for r in clusters.select("name", "value", "cluster_hash").collect()
        }
        analysis["suggestions"] = suggestions(analysis, hashes)
        job.counts.update(analysis)
        report = workspace.reports_dir / "icp" / f"{partner}{'-' + segment if segment else ''}.html"
        replace_text(report, icp_report_html(job.counts))
        job.outputs["report"] = str(report)
        items.unpersist()
        members_frame.unpersist()
    return job.result()
