"""Commands about people: enrich, profile, get-person."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from jobs import enrich as enrich_job
from jobs import forget as forget_job
from jobs.cli.options import (
    JsonOption,
    MasterOption,
    WorkspaceOption,
    chosen_master,
    chosen_workspace,
)
from jobs.cli.output import (
    emit,
    new_table,
    print_cut_note,
    run_spark_job,
    spark_session,
    stderr,
    within_limit,
)
from jobs.cli.views import (
    coverage_table,
    forget_view,
    profile_view,
    results_table,
    write_persons,
)
from jobs.config import (
    load_workspace,
)
from jobs.errors import WorkspaceError
from jobs.warehouse import persons as persons_job
from jobs.workspace_schema import (
    profile_fields,
    workspace_namespaces,
)


def rebuilt_line(counts: dict) -> str:
    """Which profiles this run rebuilt, and why all when it rebuilt all."""
    if counts.get("mode") == "incremental":
        return f"incremental: rebuilt {counts['rebuilt_profiles']:,} profile(s), kept the others"
    return f"full: every profile rebuilt ({escape(str(counts.get('full_because')))})"


def enrich(
    workspace: WorkspaceOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="Judge retention at this UTC time (default: now)."),
    ] = None,
    validate: Annotated[
        int,
        typer.Option("--validate", help="Records to validate against the schema (0: all)."),
    ] = enrich_job.DEFAULT_VALIDATE_ROWS,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Rebuild every profile, not only those that changed since the last run."
        ),
    ] = False,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build the profiles table: 1P fields, identities and each partner's attributes.

    Incremental by default: only profiles whose seed row, matches, matched partner person or
    retention changed since the last enrich are rebuilt, with the result a full run gives.

    Example: partnerkit enrich --workspace ./partnerkit-demo
    """
    moment = as_of.replace(tzinfo=as_of.tzinfo or UTC) if as_of else None
    result = run_spark_job(
        workspace,
        master,
        "enrich",
        lambda w, s: enrich_job.run(w, s, as_of=moment, validate_rows=validate, full=full),
    )

    def render() -> None:
        stderr.print(results_table("partnerkit enrich", [result]))
        stderr.print(rebuilt_line(result.counts))
        stderr.print(coverage_table(result.counts["coverage"]))
        stderr.print(
            f"validated {result.counts['validated_records']:,} record(s) against the "
            f"schema; profiles at {escape(result.outputs['profiles'])}"
        )

    emit(result.model_dump(), as_json, render)


def profile(
    workspace: WorkspaceOption = None,
    email: Annotated[str | None, typer.Option("--email", help="Find by email.")] = None,
    profile_id: Annotated[str | None, typer.Option("--profile-id", help="Find by ID.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Profiles shown when several share an email.")
    ] = 10,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one profile: identities, 1P fields and a partner enrichment card per partner.

    Example: partnerkit profile --workspace ./partnerkit-demo --profile-id C000000015
    """
    if (email is None) == (profile_id is None):
        raise typer.BadParameter("give exactly one of --email or --profile-id")
    loaded = load_workspace(chosen_workspace(workspace))
    with spark_session(loaded, chosen_master(master)) as spark:
        records = persons_job.lookup_profiles(
            loaded, spark, profile_id=profile_id, email=email, limit=limit + 1
        )
        records, more = within_limit(records, limit)
        canonical = {
            r["profileId"]: persons_job.lookup_canonical(loaded, spark, r["profileId"])
            for r in records
        }
    if not records:
        raise WorkspaceError("profiles", "a profile with that " + ("email" if email else "ID"))
    fields, namespaces = profile_fields(loaded), workspace_namespaces(loaded)

    def render() -> None:
        for record in records:
            stderr.print(profile_view(record, fields, namespaces))
            chosen = canonical.get(record["profileId"], [])
            if len(loaded.config.partners) > 1 and chosen:
                table = new_table(
                    "canonical attributes (one value chosen across partners)",
                    ("domain", "attribute", "value", "from", "partners"),
                    numeric=("partners",),
                )
                for row in chosen:
                    table.add_row(
                        row["domain"],
                        row["attribute"],
                        escape(row["value"]),
                        row["provider"],
                        str(row["providers"]),
                    )
                stderr.print(table)
        print_cut_note(len(records), limit, more, "profiles with that email")

    document = records[0] if len(records) == 1 else {"profiles": records, "more": more}
    emit(document, as_json, render)


PersonFormat = Annotated[str, typer.Option("--format", help="json, jsonl or csv.")]


def get_person(
    workspace: WorkspaceOption = None,
    partner: Annotated[str, typer.Option("--partner", help="The partner to read.")] = "",
    domains: Annotated[
        str, typer.Option("--domains", help="Comma-separated domains (default: all delivered).")
    ] = "",
    person_ids: Annotated[
        list[str] | None,
        typer.Option("--person-id", help="A partner person ID (repeat; default: matched ones)."),
    ] = None,
    output_format: PersonFormat = "json",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write every person to this file.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Persons printed without --output.")] = 100,
    master: MasterOption = None,
) -> None:
    """Export partner attributes per person: flat key/values, numbered identifiers.

    Example: partnerkit get-person -w ./ws --partner acme --domains demographic,financial
    """
    if output_format not in ("json", "jsonl", "csv"):
        raise typer.BadParameter("expected json, jsonl or csv", param_hint="--format")
    loaded = load_workspace(chosen_workspace(workspace))
    chosen = loaded.partner(partner or loaded.config.partners[0].name)
    wanted = [d.strip() for d in domains.split(",") if d.strip()]
    with spark_session(loaded, chosen_master(master)) as spark:
        persons = persons_job.get_persons(
            loaded, spark, partner=chosen, domains=wanted, person_ids=person_ids or []
        )
        if output is not None:
            path = persons_job.export_persons(persons, output.resolve(), output_format)
            stderr.print(f"wrote {escape(str(path))}")
            return
        rows = persons_job.first_persons(persons, limit)
    write_persons(rows, output_format)


def forget(
    workspace: WorkspaceOption = None,
    profile_id: Annotated[
        list[str] | None, typer.Option("--profile-id", help="A profile to erase (repeatable).")
    ] = None,
    email: Annotated[
        list[str] | None, typer.Option("--email", help="An email to erase (repeatable).")
    ] = None,
    phone: Annotated[
        list[str] | None, typer.Option("--phone", help="A phone number to erase (repeatable).")
    ] = None,
    requests: Annotated[
        Path | None,
        typer.Option("--requests", help="A CSV of requests: columns profile_id, email, phone."),
    ] = None,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase people from every table, purge the versions that held them, keep them out.

    The receipt (reports/forget/<run>.json, also in the ledger) lists the tables changed,
    the versions purged and the past exports that held them, with hashes and counts only.

    Example: partnerkit forget --workspace ./ws --email jane@example.com
    """
    result = run_spark_job(
        workspace,
        master,
        "forget",
        lambda w, s: forget_job.run(
            w,
            s,
            profile_ids=list(profile_id or []),
            emails=list(email or []),
            phones=list(phone or []),
            requests_file=requests,
        ),
    )
    emit(result.model_dump(), as_json, lambda: stderr.print(forget_view(result)))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(enrich)
    app.command()(profile)
    app.command(name="get-person")(get_person)
    app.command()(forget)
