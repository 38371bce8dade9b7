"""The compare job: where partners agree, disagree, or cannot be compared.

Reads `attribute_evidence` (written by enrich): per profile and attribute, the independent
claims of each partner. Rates per attribute and per partner pair go into the result and an
HTML report with a partner-pair agreement matrix.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ingest.enrichment.providers import agreement, pair_agreement
from jobs.config import Workspace
from jobs.reports.compare import compare_report_html
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.catalogue import ATTRIBUTE_EVIDENCE_TABLE
from jobs.warehouse.tables import read_committed

JOB = "compare"


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
        by_attribute = []
        for row in cells.orderBy("attribute").collect():
            compared = row["agree"] + row["disagree"]
            by_attribute.append(
                {
                    "attribute": row["attribute"],
                    "agree": row["agree"],
                    "disagree": row["disagree"],
                    "not_comparable": row["not_comparable"],
                    "agreement_rate": round(row["agree"] / compared, 6) if compared else None,
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
                "compared": r["compared"],
                "agree": r["agree"],
                "agreement_rate": round(r["agree"] / r["compared"], 6) if r["compared"] else None,
            }
            for r in pairs.orderBy("provider_a", "provider_b").collect()
        ]
        job.counts.update(
            {"attribute": attribute, "by_attribute": by_attribute, "by_pair": by_pair}
        )
        report = workspace.reports_dir / "compare" / f"{attribute or 'all'}.html"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(compare_report_html(job.counts), encoding="utf-8")
        job.outputs["report"] = str(report)
    return job.result()
