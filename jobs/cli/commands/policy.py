"""Commands for data stewards: schema show, labels, policies, policy evaluate, check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from governance.catalogs import Governance, build_governance, describe_catalog
from jobs import policy_evaluate as policy_evaluate_job
from jobs import steward as steward_job
from jobs.cli.exit_codes import EXIT_POLICY_BLOCKED, EXIT_STEWARD_CHECK
from jobs.cli.options import JsonOption, OptionalWorkspace, State, WorkspaceOption, chosen_workspace
from jobs.cli.output import emit, new_table, stderr
from jobs.cli.views import (
    evaluation_table,
    fields_table,
    findings_table,
)
from jobs.config import (
    CONFIG_FILE_NAME,
    Workspace,
    load_workspace,
)
from jobs.workspace_schema import (
    partner_spec,
    workspace_governance,
    workspace_registry,
)
from schemas.attributes import CATALOG_FOLDER, catalog_listing, load_attribute_catalog
from schemas.registry import PROFILE_SCHEMA, bundled_registry

schema_app = typer.Typer(
    help="Inspect the XDM schemas: fields, types and labels.\n\n"
    "Example: partnerkit schema show enriched_profile --labels",
    no_args_is_help=True,
)


def schema_show(
    name: Annotated[
        str, typer.Argument(help="Schema or field group (default: the profile schema).")
    ] = "",
    workspace: WorkspaceOption = None,
    labels: Annotated[bool, typer.Option("--labels", help="Show labels and their origin.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Print a schema's flattened fields (with a workspace: its partners and schema folders).

    Example: partnerkit schema show enriched_profile --labels --workspace ./partnerkit-demo
    """
    chosen = workspace or State.workspace
    loaded = load_workspace(chosen) if chosen else None
    if loaded is not None:
        registry = workspace_registry(loaded)
        target = name or loaded.config.schemas.profile
        specs = [partner_spec(p) for p in loaded.config.partners]
    else:
        registry, target, specs = bundled_registry(), name or PROFILE_SCHEMA, []
    document = registry.get(target)
    fields = registry.flatten(document.name, specs)

    def render() -> None:
        stderr.print(fields_table(f"{document.name} ({document.uri})", fields, with_labels=labels))
        stderr.print(f"schemas: {', '.join(registry.names())}")

    emit(
        {
            "schema": document.name,
            "$id": document.uri,
            "fields": [
                {
                    "path": f.path,
                    "type": f.spark_type.simpleString(),
                    "enum": f.enum,
                    "labels": [label.model_dump() for label in f.labels],
                }
                for f in fields
            ],
        },
        as_json,
        render,
    )


def attributes(
    domain: Annotated[
        str | None, typer.Option("--domain", help="Only this domain's attributes.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the partner attribute catalog: the column names a partner mapping uses, their
    profile paths, domains and allowed values (recode other spellings in mapping.recode).

    Example: partnerkit attributes --domain demographic
    """
    try:
        listing = catalog_listing(load_attribute_catalog(), domain)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--domain") from None

    def render() -> None:
        table = new_table("partner attributes", ("column", "profile path", "domain", "values"))
        for entry in listing:
            table.add_row(
                entry["column"], entry["path"], entry["domain"], escape(", ".join(entry["values"]))
            )
        stderr.print(table)
        stderr.print(f"catalog: {escape(str(CATALOG_FOLDER))}")

    emit({"attributes": listing, "catalog": str(CATALOG_FOLDER)}, as_json, render)


def chosen_governance(workspace: Path | None) -> tuple[Governance, Workspace | None]:
    """The workspace's catalogs when one is given (or found in the current folder), else core."""
    chosen = workspace or State.workspace
    if chosen is None and (Path(".") / CONFIG_FILE_NAME).is_file():
        chosen = Path(".")
    if chosen is None:
        return build_governance(), None
    loaded = load_workspace(chosen)
    return workspace_governance(loaded), loaded


def labels(workspace: OptionalWorkspace = None, as_json: JsonOption = False) -> None:
    """List the data usage labels in force: core, third-party, workspace and partner contracts.

    Example: partnerkit labels --workspace ./partnerkit-demo
    """
    governance, _ = chosen_governance(workspace)

    def render() -> None:
        table = new_table("labels", ("code", "category", "name", "meaning", "origin"))
        for label in governance.labels.values():
            table.add_row(
                escape(label.code),
                label.category,
                escape(label.name),
                escape(label.description),
                governance.origins.get(f"label:{label.code}", ""),
            )
        stderr.print(table)

    emit({"labels": describe_catalog(governance)["labels"]}, as_json, render)


def policies(workspace: OptionalWorkspace = None, as_json: JsonOption = False) -> None:
    """List the policies and marketing actions in force, with their conditions and status.

    Example: partnerkit policies --workspace ./partnerkit-demo --json
    """
    governance, _ = chosen_governance(workspace)
    document = describe_catalog(governance)

    def render() -> None:
        table = new_table(
            "policies", ("id", "marketing actions", "denied when", "status", "origin")
        )
        for policy in document["policies"]:
            actions = ", ".join(policy["marketing_actions"])
            table.add_row(
                escape(policy["id"]),
                actions,
                escape(policy["condition"]),
                policy["status"],
                policy["origin"],
            )
        stderr.print(table)
        stderr.print("marketing actions: " + ", ".join(governance.actions))

    emit({k: document[k] for k in ("policies", "marketing_actions")}, as_json, render)


policy_app = typer.Typer(
    help="Evaluate data usage policies.\n\n"
    "Example: partnerkit policy evaluate --action emailTargeting --labels C4,I1",
    no_args_is_help=True,
)


def policy_evaluate(
    action: Annotated[str, typer.Option("--action", help="The marketing action.")],
    label_codes: Annotated[
        str, typer.Option("--labels", help="Comma-separated labels, e.g. C4,I1.")
    ] = "",
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="A dataset: seeds or partner/<partner>.")
    ] = None,
    fields: Annotated[
        str, typer.Option("--fields", help="Comma-separated field paths of --dataset.")
    ] = "",
    drafts: Annotated[bool, typer.Option("--drafts", help="Evaluate draft policies too.")] = False,
    workspace: OptionalWorkspace = None,
    as_json: JsonOption = False,
) -> None:
    """Say whether a marketing action is allowed on labels or on a dataset's fields, and why.

    Exit code 3 when an enabled policy (or a draft, with --drafts) is violated.

    Example: partnerkit policy evaluate -w ./ws --action dataScience --dataset partner/acme
    """
    governance, loaded = chosen_governance(workspace)
    codes = [c.strip() for c in label_codes.split(",") if c.strip()]
    if dataset is not None and loaded is None:
        raise typer.BadParameter("--dataset needs --workspace", param_hint="--dataset")
    if not codes and dataset is None:
        raise typer.BadParameter("give --labels or --dataset", param_hint="--labels")
    evaluation = policy_evaluate_job.run(
        loaded,
        governance,
        action=action,
        labels=codes,
        dataset=dataset,
        fields=[f.strip() for f in fields.split(",") if f.strip()],
        include_drafts=drafts,
    )
    emit(evaluation.model_dump(), as_json, lambda: stderr.print(evaluation_table(evaluation)))
    if not evaluation.allowed:
        raise typer.Exit(EXIT_POLICY_BLOCKED)


def check(
    workspace: WorkspaceOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="Judge retention at this UTC time (default: now)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the data steward checks and write an HTML report; exit 5 when an error is found.

    Example: partnerkit check --workspace ./partnerkit-demo
    """
    loaded = load_workspace(chosen_workspace(workspace))
    moment = as_of.replace(tzinfo=as_of.tzinfo or UTC) if as_of else None
    result = steward_job.run(loaded, now=moment)

    def render() -> None:
        stderr.print(findings_table(result))
        for note in result.counts["notes"]:
            stderr.print(f"note: {escape(note)}")
        stderr.print(f"Steward report: file://{escape(result.outputs['report'])}")

    emit(result.model_dump(), as_json, render)
    if result.counts["errors"]:
        raise typer.Exit(EXIT_STEWARD_CHECK)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(labels)
    app.command()(attributes)
    app.command()(policies)
    app.command()(check)
    schema_app.command("show")(schema_show)
    policy_app.command("evaluate")(policy_evaluate)
    app.add_typer(schema_app, name="schema")
    app.add_typer(policy_app, name="policy")
