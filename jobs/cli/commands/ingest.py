"""Commands about partner deliveries: ingest, batches, history."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from jobs import optout_ingest
from jobs import partner_ingest as ingest_job
from jobs.cli.options import (
    JsonOption,
    MasterOption,
    PartnerOption,
    WorkspaceOption,
    chosen_master,
    chosen_workspace,
)
from jobs.cli.output import (
    emit,
    exit_on_drift,
    new_table,
    print_cut_note,
    spark_session,
    stderr,
    within_limit,
)
from jobs.cli.progress import spark_progress
from jobs.cli.views import ingest_table, row_count
from jobs.config import Workspace, load_workspace


def delivery_count(files: list[Any], key: str) -> str:
    """A delivery's rows: the sum over the files that were read ("-" when none was)."""
    counted = [f.counts[key] for f in files if key in f.counts]
    return f"{sum(counted):,}" if counted else "-"


def named_partner(workspace: Workspace, partner: str | None, ask: str) -> str:
    """The partner asked for, or the workspace's only one; else a usage error saying `ask`."""
    configured = [p.name for p in workspace.config.partners]
    chosen = partner or (configured[0] if len(configured) == 1 else "")
    if not chosen:
        raise typer.BadParameter(ask, param_hint="--partner")
    return chosen


def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files, folders, globs, s3:// keys or prefixes (default: the partner's source)."
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    partner: Annotated[
        str, typer.Option("--partner", help="The partner the files come from.")
    ] = "",
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="full: the files are the whole universe; delta: upserts and deletes folded "
            "into it (default: the partner's delivery.kind).",
        ),
    ] = None,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load partner files, one batch per file: check rows, quarantine failures, gate, publish.

    Exits 6 (delivery published) when its quarantined share rose more than the partner's
    monitoring.max_quarantine_rise since the previous published delivery.

    Example: partnerkit ingest --workspace ./ws --partner acme s3://drops/acme/2026-11/
    """
    if kind not in (None, "full", "delta"):
        raise typer.BadParameter("expected full or delta", param_hint="--kind")
    loaded = load_workspace(chosen_workspace(workspace))
    chosen = named_partner(loaded, partner, "name the partner these files come from")
    with spark_session(loaded, chosen_master(master)) as spark:
        with spark_progress(spark, stderr, "ingest"):
            result = ingest_job.run(
                loaded,
                spark,
                partner=chosen,
                sources=list(sources or []),
                kind=kind,  # type: ignore[arg-type]
            )

    def render() -> None:
        stderr.print(ingest_table(result))
        for batch in result.counts.get("batches", []):
            if batch.get("data_docs"):
                stderr.print(f"Data Docs for {batch['batch_id']}: file://{batch['data_docs']}")

    emit(result.model_dump(), as_json, render)
    exit_on_drift({chosen: result.counts.get("drift", [])})


def optouts(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="Files, folders, globs, s3:// keys (default: the feed's source)."),
    ] = None,
    workspace: WorkspaceOption = None,
    partner: Annotated[
        str, typer.Option("--partner", help="The partner the opt-outs come from.")
    ] = "",
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load a partner's opt-outs (partner IDs or hashed identifiers), kept for good.

    Rows are checked and bad ones quarantined with reasons, like a delivery. From the next
    run on, an opted-out person is never matched, enriched or exported.

    Example: partnerkit optouts --workspace ./ws --partner acme s3://drops/acme/optouts/
    """
    loaded = load_workspace(chosen_workspace(workspace))
    chosen = named_partner(loaded, partner, "name the partner these opt-outs come from")
    with spark_session(loaded, chosen_master(master)) as spark:
        result = optout_ingest.run(loaded, spark, partner=chosen, sources=list(sources or []))
    emit(result.model_dump(), as_json, lambda: stderr.print(ingest_table(result)))


ROW_COUNTS = ("input_rows", "accepted_rows", "quarantined_rows")


def batches(
    workspace: WorkspaceOption = None,
    partner: PartnerOption = None,
    limit: Annotated[int, typer.Option("--limit", help="How many deliveries, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List deliveries (the files of one ingest) and their files, with status and counts.

    A delivery is published whole or not at all; `current` marks the one readers use.

    Example: partnerkit batches --workspace ./partnerkit-demo --partner acme
    """
    from ingest.ledger import Ledger
    from jobs.warehouse.commits import read_manifest
    from jobs.warehouse.universe import universe_unit

    loaded = load_workspace(chosen_workspace(workspace))
    found = Ledger(loaded.ledger_path).deliveries(partner=partner, limit=limit + 1, kinds=None)
    found, more = within_limit(found, limit)
    tables = read_manifest(loaded.warehouse).tables
    current = {
        unit.workflow_id
        for p in loaded.config.partners
        if (unit := tables.get(universe_unit(p.name)))
    }
    items = [{**d.model_dump(), "current": d.workflow_id in current} for d in found]

    def render() -> None:
        table = new_table(
            f"deliveries in {loaded.ledger_path}",
            (
                "started_at",
                "partner",
                "delivery",
                "kind",
                "file",
                "status",
                "input",
                "accepted",
                "quarantined",
                "source",
                "error",
            ),
        )
        for delivery, item in zip(found, items, strict=True):
            mark = " (current)" if item["current"] else ""
            table.add_row(
                delivery.started_at,
                delivery.partner,
                delivery.workflow_id[:8],
                delivery.kind,
                f"{len(delivery.files)} file(s)",
                delivery.status + mark,
                *(delivery_count(delivery.files, k) for k in ROW_COUNTS),
                "",
                "",
                style="bold",
            )
            for record in delivery.files:
                counts = record.counts
                table.add_row(
                    "",
                    "",
                    "",
                    "",
                    record.batch_id,
                    record.status + (f" of {record.duplicate_of}" if record.duplicate_of else ""),
                    *(row_count(counts, k) for k in ROW_COUNTS),
                    escape(record.source_uri),
                    escape(record.error or ""),
                )
        stderr.print(table)
        print_cut_note(len(found), limit, more, "deliveries, newest first")

    emit({"deliveries": items, "more": more}, as_json, render)


def history(
    workspace: WorkspaceOption = None,
    partner: Annotated[
        str | None,
        typer.Option("--partner", help="The partner (default: the only one configured)."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="How many match runs and deliveries, newest.")
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """A partner's match rates per match run (overall, per identifier, new and lost profiles)
    and its deliveries (rows in, accepted, quarantined by reason, gate), oldest first; also
    written as reports/history/<partner>.html (inline charts, nothing fetched).

    Example: partnerkit history --workspace ./partnerkit-demo --partner acme
    """
    from ingest.ledger import Ledger
    from jobs.history import delivery_history, match_history
    from jobs.reports.history import history_page
    from jobs.warehouse.paths import replace_text

    loaded = load_workspace(chosen_workspace(workspace))
    name = loaded.partner(named_partner(loaded, partner, "name the partner")).name
    ledger = Ledger(loaded.ledger_path)
    matches = match_history(ledger, name, limit=limit)
    deliveries = delivery_history(ledger, name, limit=limit)
    report = loaded.reports_dir / "history" / f"{name}.html"
    replace_text(report, history_page(name, matches, deliveries))
    document = {
        "partner": name,
        "matches": matches,
        "deliveries": deliveries,
        "report": str(report),
    }

    def render() -> None:
        runs = new_table(
            f"match runs of {name}",
            ("started_at", "run", "requested", "resolved", "rate", "new", "lost"),
        )
        for m in matches:
            runs.add_row(
                m["started_at"], m["workflow_id"][:8], f"{m['requested']:,}", f"{m['resolved']:,}",
                f"{m['rate']:.2%}", str(m["new"] if m["new"] is not None else ""),
                str(m["lost"] if m["lost"] is not None else ""),
            )  # fmt: skip
        shipped = new_table(
            f"deliveries of {name}",
            ("started_at", "kind", "status", "input", "accepted", "quarantined", "share", "gate"),
        )
        for d in deliveries:
            shipped.add_row(
                d["started_at"], d["kind"], d["status"], f"{d['input_rows']:,}",
                f"{d['accepted_rows']:,}", f"{d['quarantined_rows']:,}",
                f"{d['quarantined_share']:.2%}",
                f"{d['gate']['passed']} passed, {d['gate']['failed']} failed",
            )  # fmt: skip
        stderr.print(runs, shipped)
        stderr.print(f"report: {escape(str(report))}")

    emit(document, as_json, render)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(ingest)
    app.command()(optouts)
    app.command()(batches)
    app.command()(history)
