"""The lookalike job: find partner persons matching a cluster expression, governed.

Lookalike modelling is a `dataScience` use of the partner's data: the fields the expression
reads are evaluated against the policies first. A saved audience is a table of partner person
IDs (`prospects/<name>`): prospects are not 1P profiles and never create or merge profiles.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from ingest.audiences.lookalike import (
    expression_column,
    find_persons,
    parse_expression,
    resolve_terms,
    within_radius,
)
from ingest.audiences.overlap import withheld
from jobs.config import Workspace, check_name
from jobs.data_science import attribute_fields, evaluate_data_science, refused
from jobs.errors import WorkspaceError
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.catalogue import MATCHES_TABLE, PROSPECTS_TABLE
from jobs.warehouse.tables import read_committed, save_prospect_lineage, write_table
from jobs.warehouse.universe import current_universe, load_clusters, partner_attribute_columns

JOB = "lookalike"
SAMPLE = 10


def run(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: str,
    expression: str,
    exclude_customers: bool = False,
    near: tuple[float, float] | None = None,
    radius: tuple[float, str] | None = None,
    save: str | None = None,
) -> JobResult:
    """Parse, check policy, evaluate over the universe: total, a sample, optionally save."""
    config = workspace.partner(partner)
    if save is not None:
        check_name("prospect audience", save)
    node = parse_expression(expression)
    fields = attribute_fields(workspace, partner)
    with open_run(workspace, JOB, spark=spark) as job:
        job.counts.update({"partner": partner, "expression": expression})
        clusters, universe_size = load_clusters(workspace, spark, config)
        rows = clusters.select("cluster_hash", "name", "value").collect()
        resolved = resolve_terms(
            node,
            expression,
            {r["cluster_hash"]: (r["name"], r["value"]) for r in rows},
            {(r["name"], r["value"]) for r in rows},
        )
        used = sorted({fields[name][0] for name, _ in resolved.values() if name in fields})
        evaluation = evaluate_data_science(workspace, job, partner, used)
        if not evaluation.allowed:
            return refused(job, evaluation)
        job.counts["allowed"] = True
        universe = current_universe(workspace, spark, partner)
        if universe is None:  # load_clusters has already said so; a concurrent change
            raise WorkspaceError(f"partner/{partner}", "an ingested batch")
        columns, _ = partner_attribute_columns(config)
        condition = expression_column(node, resolved, columns)
        if near is not None and radius is not None:
            if not {"latitude", "longitude"} <= set(universe.columns):
                raise WorkspaceError(
                    f"partner/{partner}",
                    "latitude and longitude columns for "
                    "a geographic filter; this universe has none",
                )
            condition = condition & within_radius(near[0], near[1], radius[0], radius[1])
        exclude = (
            read_committed(spark, workspace.warehouse, MATCHES_TABLE, partner)
            if exclude_customers
            else None
        )
        persons = find_persons(universe, condition, exclude=exclude).cache()
        total, k = persons.count(), workspace.config.privacy.k
        job.counts.update(total=withheld(total, k), universe_size=universe_size, k=k)
        # a sample of fewer than k persons would name the group: none is shown
        job.counts["sample"] = (
            [r["partner_id"] for r in persons.orderBy("partner_id").limit(SAMPLE).collect()]
            if total >= k
            else []
        )
        if save:
            path = write_table(persons, job, f"{PROSPECTS_TABLE}/{save}")
            save_prospect_lineage(
                path, job, audience=save, partner=partner, expression=expression, fields=used
            )
            job.outputs[f"{PROSPECTS_TABLE}.{save}"] = path
        persons.unpersist()
    return job.result()
