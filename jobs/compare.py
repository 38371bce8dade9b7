"""The compare job: where partners agree, disagree, or cannot be compared.

Reads `attribute_evidence` (written by enrich): per profile and attribute, the independent
claims of each partner. Rates per attribute and per partner pair go into the result and an
HTML report with a partner-pair agreement matrix.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.audiences.overlap import withheld
from ingest.enrichment.providers import agreement, pair_agreement
from jobs.config import Workspace
from jobs.reports.compare import compare_report_html
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.catalogue import ATTRIBUTE_EVIDENCE_TABLE
from jobs.warehouse.paths import replace_text
from jobs.warehouse.tables import read_committed

JOB = "compare"


def rate_of(agree: int, compared: int, k: int) -> float | None:
    """The agreement rate, withheld (None) when fewer than k values were compared."""
    return round(agree / compared, 6) if compared >= k else None


def run(workspace: Workspace, spark: SparkSession, *, attribute: str | None = None) -> JobResult:
    """Agreement per attribute and per partner pair (one attribute, or all)."""
    with open_run(workspace, JOB, writes=False) as job:
        evidence = read_committed(
            spark,
            workspace.warehouse,
            ATTRIBUTE_EVIDENCE_TABLE,
            remedy="run `partnerkit enrich` first",
        )
        if attribute:
            evidence = evidence.where(F.col("attribute") == attribute)
        cells = (
            agreement(evidence)
            .groupBy("attribute")
            .pivot("status", ["agree", "disagree", "not_comparable"])
            .count()
            .na.fill(0)
        )
        k = workspace.config.privacy.k
        by_attribute = []
        uncompared = 0  # values of attributes no two partners can be compared on
        for row in cells.orderBy("attribute").collect():
            compared = row["agree"] + row["disagree"]
            uncompared += row["not_comparable"] if compared == 0 else 0
            by_attribute.append(
                {
                    "attribute": row["attribute"],
                    "comparable": compared > 0,
                    "agree": withheld(row["agree"], k),
                    "disagree": withheld(row["disagree"], k),
                    "not_comparable": withheld(row["not_comparable"], k),
                    "agreement_rate": rate_of(row["agree"], compared, k),
                }
            )
        pairs = (
            pair_agreement(evidence)
            .groupBy("provider_a", "provider_b")
            .agg(F.sum("compared").alias("compared"), F.sum("agree").alias("agree"))
        )
        by_pair = [
            {
                "provider_a": r["provider_a"],
                "provider_b": r["provider_b"],
                "compared": withheld(r["compared"], k),
                "agree": withheld(r["agree"], k),
                "disagree": withheld(r["compared"] - r["agree"], k),
                "agreement_rate": rate_of(r["agree"], r["compared"], k),
            }
            for r in pairs.orderBy("provider_a", "provider_b").collect()
        ]
        job.counts.update(
            {
                "attribute": attribute,
                "k": k,
                "by_attribute": by_attribute,
                "by_pair": by_pair,
                "uncompared": withheld(uncompared, k),
            }
        )
        report = workspace.reports_dir / "compare" / f"{attribute or 'all'}.html"
        replace_text(report, compare_report_html(job.counts))
        job.outputs["report"] = str(report)
    return job.result()
