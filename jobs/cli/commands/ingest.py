"""Commands about partner deliveries: ingest, batches."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from jobs import partner_ingest as ingest_job
from jobs.cli.options import (
    JsonOption,
    MasterOption,
    PartnerOption,
    WorkspaceOption,
    chosen_master,
    chosen_workspace,
)
from jobs.cli.output import emit, new_table, spark_session, stderr
from jobs.cli.progress import spark_progress
from jobs.cli.views import ingest_table
from jobs.config import (
    load_workspace,
)


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
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load partner files, one batch per file: check rows, quarantine failures, gate, publish.

    Example: partnerkit ingest --workspace ./ws --partner acme s3://drops/acme/2026-11/
    """
    loaded = load_workspace(chosen_workspace(workspace))
    configured = [p.name for p in loaded.config.partners]
    chosen = partner or (configured[0] if len(configured) == 1 else "")
    if not chosen:
        raise typer.BadParameter("name the partner these files come from", param_hint="--partner")
    with spark_session(loaded, chosen_master(master)) as spark:
        with spark_progress(spark, stderr, "ingest"):
            result = ingest_job.run(loaded, spark, partner=chosen, sources=list(sources or []))

    def render() -> None:
        stderr.print(ingest_table(result))
        for batch in result.counts.get("batches", []):
            if batch.get("data_docs"):
                stderr.print(f"Data Docs for {batch['batch_id']}: file://{batch['data_docs']}")

    emit(result.model_dump(), as_json, render)


def batches(
    workspace: WorkspaceOption = None,
    partner: PartnerOption = None,
    limit: Annotated[int, typer.Option("--limit", help="How many batches, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List delivered files (batches) with their status and counts, newest first.

    Example: partnerkit batches --workspace ./partnerkit-demo --partner acme
    """
    from ingest.ledger import Ledger

    loaded = load_workspace(chosen_workspace(workspace))
    records = Ledger(loaded.ledger_path).batches(partner=partner, limit=limit)

    def render() -> None:
        table = new_table(
            f"batches in {loaded.ledger_path}",
            (
                "started_at",
                "partner",
                "batch",
                "status",
                "input",
                "accepted",
                "quarantined",
                "source",
                "error",
            ),
        )
        for record in records:
            counts = record.counts
            table.add_row(
                record.started_at,
                record.partner,
                record.batch_id,
                record.status + (f" of {record.duplicate_of}" if record.duplicate_of else ""),
                f"{counts.get('input_rows', 0):,}",
                f"{counts.get('accepted_rows', 0):,}",
                f"{counts.get('quarantined_rows', 0):,}",
                escape(record.source_uri),
                escape(record.error or ""),
            )
        stderr.print(table)

    emit({"batches": [record.model_dump() for record in records]}, as_json, render)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(ingest)
    app.command()(batches)
