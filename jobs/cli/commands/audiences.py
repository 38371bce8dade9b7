"""Commands about audiences: segment, activate, activations, clusters, icp, lookalike, compare."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from jobs import activate as activate_job
from jobs import compare as compare_job
from jobs import icp as icp_job
from jobs import lookalike as lookalike_job
from jobs import overlap as overlap_job
from jobs import pipeline
from jobs import segments as segments_job
from jobs.cli.exit_codes import EXIT_POLICY_BLOCKED
from jobs.cli.options import (
    JsonOption,
    MasterOption,
    WorkspaceOption,
    chosen_workspace,
)
from jobs.cli.output import (
    emit,
    new_table,
    print_cut_note,
    print_written,
    run_spark_job,
    stderr,
    within_limit,
)
from jobs.cli.views import (
    activation_summary,
    compare_table,
    icp_tables,
    lookalike_table,
    overlap_table,
    refusal_table,
    sync_note,
)
from jobs.config import (
    Workspace,
    load_workspace,
)
from jobs.runtime.runs import JobResult
from jobs.warehouse.universe import list_clusters


def segment(
    workspace: WorkspaceOption = None,
    name: Annotated[str | None, typer.Option("--name", help="Only this segment.")] = None,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate segment predicates over the profiles and write segments/<name> with counts.

    Example: partnerkit segment --workspace ./partnerkit-demo --name high_earning_homeowners
    """
    result = run_spark_job(
        workspace, master, "segments", lambda w, s: segments_job.run(w, s, name=name)
    )

    def render() -> None:
        table = new_table(
            f"segments ({result.counts['profiles']:,} profiles)",
            ("segment", "members", "fields read"),
        )
        for key, value in result.counts.items():
            if isinstance(value, dict):
                table.add_row(key, f"{value['members']:,}", escape(", ".join(value["fields"])))
        stderr.print(table)

    emit(result.model_dump(), as_json, render)


def activate(
    workspace: WorkspaceOption = None,
    segment_name: Annotated[str, typer.Option("--segment", help="The segment to activate.")] = "",
    prospects: Annotated[
        str, typer.Option("--prospects", help="A saved lookalike audience (partner IDs).")
    ] = "",
    destination: Annotated[str, typer.Option("--destination", help="Where it goes.")] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Evaluate and count; write nothing.")
    ] = False,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Activate a segment to a destination if every policy allows it; exit 3 when blocked.

    Example: partnerkit activate -w ./partnerkit-demo --segment loyal_gold --destination crm_s3
    """
    if bool(segment_name) == bool(prospects) or not destination:
        raise typer.BadParameter("give --destination and one of --segment or --prospects")
    if prospects:
        result = run_spark_job(
            workspace,
            master,
            "activate",
            lambda w, s: activate_job.run_prospects(
                w, s, prospects=prospects, destination=destination, dry_run=dry_run
            ),
        )
    else:
        result = run_spark_job(
            workspace,
            master,
            "activate",
            lambda w, s: activate_job.run(
                w, s, segment=segment_name, destination=destination, dry_run=dry_run
            ),
        )

    def render() -> None:
        stderr.print(activation_summary(result))
        print_written(result, prefix="decision_page")

    emit(result.model_dump(), as_json, render)
    if not result.counts["allowed"]:
        raise typer.Exit(EXIT_POLICY_BLOCKED)


def activations(
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List past activations from the ledger: allowed or blocked, rows and where they went.

    Example: partnerkit activations --workspace ./partnerkit-demo
    """
    from ingest.ledger import Ledger

    loaded = load_workspace(chosen_workspace(workspace))
    ledger = Ledger(loaded.ledger_path)
    records = ledger.runs(job=activate_job.JOB, limit=limit + 1)
    records, more = within_limit(records, limit)
    outcomes = [activate_job.activation_outcome(ledger, record) for record in records]

    def render() -> None:
        table = new_table(
            "activations",
            ("started_at", "status", "segment", "destination", "decision", "rows", "manifest"),
        )
        for record, counts in zip(records, outcomes, strict=True):
            decision = "allowed" if counts.get("allowed") else "blocked"
            if counts.get("dry_run"):
                decision += " (dry run)"
            sync = counts.get("sync")
            if sync:
                decision += f" ({sync_note(sync)})"
            status = record.status
            if status in ("abandoned", "running"):
                published = counts.get("published")
                status += ": files published" if published else ": nothing exported"
            table.add_row(
                record.started_at,
                status,
                counts.get("segment", ""),
                counts.get("destination", ""),
                decision,
                f"{counts.get('exported_rows', 0):,}",
                escape(str(counts.get("manifest", ""))),
            )
        stderr.print(table)
        print_cut_note(len(records), limit, more, "activations")

    listed = [
        {**record.model_dump(), "outcome": outcome}
        for record, outcome in zip(records, outcomes, strict=True)
    ]
    emit({"activations": listed, "more": more}, as_json, render)


def clusters(
    workspace: WorkspaceOption = None,
    partner: Annotated[str, typer.Option("--partner", help="The partner universe.")] = "",
    name: Annotated[str, typer.Option("--name", help="Comma-separated attribute names.")] = "",
    value: Annotated[str, typer.Option("--value", help="Comma-separated values.")] = "",
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """List attribute clusters (name, value, stable hash, size) of a partner universe.

    Example: partnerkit clusters -w ./partnerkit-demo --partner acme --name gender,is_investor
    """
    names = {n.strip() for n in name.split(",") if n.strip()}
    values = {v.strip() for v in value.split(",") if v.strip()}
    rows, size = run_spark_job(
        workspace,
        master,
        "clusters",
        lambda w, s: list_clusters(
            w, s, w.partner(partner or w.config.partners[0].name), names=names, values=values
        ),
    )
    document = {"universe_size": size, "clusters": rows}

    def render() -> None:
        table = new_table(
            f"clusters (universe {document['universe_size']:,})",
            ("cluster_hash", "cluster_id", "domain", "name", "value", "size"),
            numeric=("size",),
        )
        for row in document["clusters"]:
            table.add_row(
                row["cluster_hash"],
                row["cluster_id"],
                row["domain"],
                row["name"],
                escape(row["value"]),
                f"{row['size']:,}",
            )
        stderr.print(table)

    emit(document, as_json, render)


def parse_near(near: str | None, radius: str | None) -> tuple[Any, Any]:
    if near is None and radius is None:
        return None, None
    try:
        latitude, longitude = (float(x) for x in (near or "").split(","))
        amount, unit = float((radius or "")[:-2]), (radius or "")[-2:]
    except ValueError:
        raise typer.BadParameter("--near LAT,LON and --radius like 10mi or 25km") from None
    if unit not in ("mi", "km"):
        raise typer.BadParameter("radius unit must be mi or km", param_hint="--radius")
    return (latitude, longitude), (amount, unit)


def lookalike(
    workspace: WorkspaceOption = None,
    partner: Annotated[str, typer.Option("--partner", help="The partner universe.")] = "",
    expression: Annotated[
        str | None, typer.Option("--expression", help="Cluster hashes or name=value, AND/OR/NOT.")
    ] = None,
    suggest: Annotated[
        str | None, typer.Option("--suggest", help="precision, reach or hybrid (from the ICP).")
    ] = None,
    exclude_customers: Annotated[
        bool, typer.Option("--exclude-customers", help="Drop persons matched to the seed set.")
    ] = False,
    near: Annotated[str | None, typer.Option("--near", help="LAT,LON")] = None,
    radius: Annotated[str | None, typer.Option("--radius", help="e.g. 10mi or 25km")] = None,
    save: Annotated[str | None, typer.Option("--save", help="Save as prospects/<name>.")] = None,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find partner persons like your customers: a cluster expression, or one the ICP suggests.

    Example: partnerkit lookalike -w ./partnerkit-demo --partner acme --suggest precision
    """
    if (expression is None) == (suggest is None):
        raise typer.BadParameter("give exactly one of --expression or --suggest")
    if suggest is not None and suggest not in pipeline.SUGGESTION_MODES:
        raise typer.BadParameter("precision, reach or hybrid", param_hint="--suggest")
    point, distance = parse_near(near, radius)
    sizes: dict[str, Any] = {}

    def lookalikes(loaded: Workspace, spark: Any) -> JobResult:
        chosen = partner or loaded.config.partners[0].name
        if suggest is None:
            return lookalike_job.run(
                loaded,
                spark,
                partner=chosen,
                expression=expression or "",
                exclude_customers=exclude_customers,
                near=point,
                radius=distance,
                save=save,
            )
        suggested = pipeline.suggested_lookalike(
            loaded,
            spark,
            partner=chosen,
            mode=suggest,
            exclude_customers=exclude_customers,
            near=point,
            radius=distance,
            save=save,
        )
        sizes.update(suggested.sizes)
        return suggested.result

    result = run_spark_job(workspace, master, "lookalike", lookalikes)
    document = {**result.model_dump(), "suggestions": sizes}

    def render() -> None:
        stderr.print(lookalike_table(result, sizes))

    emit(document, as_json, render)
    if not result.counts["allowed"]:
        raise typer.Exit(EXIT_POLICY_BLOCKED)


def compare(
    workspace: WorkspaceOption = None,
    attribute: Annotated[
        str | None, typer.Option("--attribute", help="Only this attribute, e.g. gender.")
    ] = None,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Where partners agree, disagree or cannot be compared, per attribute and partner pair.

    Example: partnerkit compare --workspace ./partnerkit-demo --attribute household_income_range
    """
    result = run_spark_job(
        workspace, master, "compare", lambda w, s: compare_job.run(w, s, attribute=attribute)
    )

    def render() -> None:
        stderr.print(compare_table(result))
        stderr.print(f"Agreement report: file://{escape(result.outputs['report'])}")

    emit(result.model_dump(), as_json, render)


def overlap(
    workspace: WorkspaceOption = None,
    partner: Annotated[str, typer.Option("--partner", help="The partner.")] = "",
    by: Annotated[
        str | None,
        typer.Option("--by", help="Also per value of this partner attribute, e.g. age_range."),
    ] = None,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """How many seeds the partner's universe holds: counts only, those under k withheld.

    Refused (exit 3, with the chain) where a policy forbids data science on the partner's data.

    Example: partnerkit overlap --workspace ./partnerkit-demo --partner acme --by age_range
    """
    result = run_spark_job(
        workspace, master, "overlap", lambda w, s: overlap_job.run(w, s, partner=partner, by=by)
    )

    def render() -> None:
        if result.counts["allowed"]:
            stderr.print(overlap_table(result))
        else:
            stderr.print(refusal_table("overlap", result.counts))

    emit(result.model_dump(), as_json, render)
    if not result.counts["allowed"]:
        raise typer.Exit(EXIT_POLICY_BLOCKED)


def icp(
    workspace: WorkspaceOption = None,
    partner: Annotated[str, typer.Option("--partner", help="The partner.")] = "",
    segment_name: Annotated[str | None, typer.Option("--segment", help="Only members.")] = None,
    min_support: Annotated[
        float, typer.Option("--min-support", help="Least share of members for pairs and sets.")
    ] = 0.1,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """What enriched customers have in common: frequencies, lift, pairs, FP-Growth clusters.

    Example: partnerkit icp --workspace ./partnerkit-demo --partner acme --segment loyal_gold
    """
    result = run_spark_job(
        workspace,
        master,
        "icp",
        lambda w, s: icp_job.run(
            w,
            s,
            partner=partner or w.config.partners[0].name,
            segment=segment_name,
            min_support=min_support,
        ),
    )

    def render() -> None:
        if not result.counts["allowed"]:
            stderr.print(refusal_table("icp", result.counts))
            return
        stderr.print(*icp_tables(result.counts))
        if "report" in result.outputs:
            stderr.print(f"ICP report: file://{escape(result.outputs['report'])}")

    emit(result.model_dump(), as_json, render)
    if not result.counts["allowed"]:
        raise typer.Exit(EXIT_POLICY_BLOCKED)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(segment)
    app.command()(activate)
    app.command()(activations)
    app.command()(clusters)
    app.command()(lookalike)
    app.command()(compare)
    app.command()(overlap)
    app.command()(icp)
