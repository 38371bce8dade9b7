"""Commands about the workspace itself: init, generate, demo, runs, vacuum."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from jobs import activate, pipeline
from jobs import generate as generate_job
from jobs import vacuum as vacuum_job
from jobs.cli.options import (
    JsonOption,
    MasterOption,
    RandomSeedOption,
    SeedsOption,
    UniverseOption,
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
from jobs.cli.progress import spark_progress
from jobs.cli.views import (
    activation_summary,
    compare_table,
    coverage_table,
    demo_summary,
    findings_table,
    icp_tables,
    lookalike_table,
    month_two_table,
    privacy_table,
    quality_table,
    recognised_table,
    results_table,
)
from jobs.config import (
    CONFIG_FILE_NAME,
    DEMO_TEMPLATE,
    MINIMAL_TEMPLATE,
    Workspace,
    check_name,
    format_validation_errors,
    load_or_create_workspace,
    load_workspace,
    starter_text,
    write_starter_workspace,
)
from jobs.demo.synthetic import GeneratorSettings
from jobs.errors import InvalidNameError
from jobs.guided_init import guided_workspace_text

DEMO_WORKSPACE = "partnerkit-demo"


def partner_file(text: str) -> tuple[str, Path, str | None]:
    """`NAME=FILE` or `NAME=FILE,profile=uid2` as (name, file, profile)."""
    name, sep, rest = text.partition("=")
    path, _, option = rest.partition(",profile=")
    if not sep or not path or ("," in path and not option):
        raise typer.BadParameter(
            f"{text!r}: expected NAME=FILE or NAME=FILE,profile=PROFILE", param_hint="--partner"
        )
    try:
        check_name("partner", name)
    except InvalidNameError as error:
        raise typer.BadParameter(str(error), param_hint="--partner") from None
    return name, Path(path), option or None


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    seeds: Annotated[
        Path | None,
        typer.Option("--seeds", help="Your seed file (csv, jsonl, parquet; gzip too) to read."),
    ] = None,
    partners: Annotated[
        list[str] | None,
        typer.Option(
            "--partner",
            help="A partner delivery to read, NAME=FILE[,profile=uid2]; repeat for more.",
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Write the demo's full example workspace instead.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing partnerkit.yaml.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace: from your files' headers and first rows (--seeds, --partner), a
    minimal commented one otherwise, or the demo's full one (--demo).

    Example: partnerkit init ./my-workspace --seeds crm.csv --partner acme=acme.csv.gz,profile=uid2
    """
    given = [partner_file(text) for text in partners or []]
    if demo and (seeds or given):
        raise typer.BadParameter("--demo writes the example workspace; drop --seeds/--partner")
    if given and seeds is None:
        raise typer.BadParameter("--partner needs --seeds (the seed file)", param_hint="--seeds")
    document: dict = {}
    if seeds is not None:
        root = directory.expanduser().resolve()
        text, document = guided_workspace_text(root, seeds, given)
    else:
        text = starter_text(DEMO_TEMPLATE if demo else MINIMAL_TEMPLATE)
    config_path = write_starter_workspace(directory, force=force, text=text)
    emit(
        {
            "workspace": str(directory.resolve()),
            "config": str(config_path.resolve()),
            **({"recognised": document} if document else {}),
        },
        as_json,
        lambda: print_init(config_path, document),
    )


def print_init(config_path: Path, document: dict) -> None:
    """What was recognised, then where the file is and what to run next."""
    if document:
        stderr.print(recognised_table(document))
    stderr.print(f"Wrote {escape(str(config_path))}")
    if document:
        stderr.print(
            f"Next: partnerkit check --workspace {escape(str(config_path.parent))}, then "
            "ingest, prepare, match and enrich with the same --workspace"
        )
    else:
        stderr.print("Edit it, then run the jobs.")


def generator_settings(
    seeds: int, universe: int, seed: int, *, deliveries: int = 0, delta_percent: float = 1.0
) -> GeneratorSettings:
    try:
        return GeneratorSettings(
            seeds=seeds,
            universe=universe,
            seed=seed,
            deliveries=deliveries,
            delta_percent=delta_percent,
        )
    except ValidationError as error:
        raise typer.BadParameter("; ".join(format_validation_errors(error))) from None


def ensure_workspace(directory: Path) -> Workspace:
    """Load a workspace, writing the starter config first when the folder has none."""
    workspace, created = load_or_create_workspace(directory)
    if created:
        stderr.print(f"Wrote a starter {CONFIG_FILE_NAME} in {escape(str(directory))}")
    return workspace


def generate(
    workspace: WorkspaceOption = None,
    seeds: SeedsOption = 10_000,
    universe: UniverseOption = 50_000,
    seed: RandomSeedOption = 42,
    deliveries: Annotated[
        int,
        typer.Option(
            "--deliveries",
            min=0,
            help="Also write this many delta deliveries of partner acme after its first "
            "(data/deltas/acme/delta-NNN: deletes, changed attributes, new persons) and the "
            "ground truth after each.",
        ),
    ] = 0,
    delta_percent: Annotated[
        float,
        typer.Option("--delta-percent", help="Share of the universe each delta changes."),
    ] = 1.0,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a messy seed set, a hashed partner universe and the ground truth, with Spark.

    Example: partnerkit generate --workspace ./ws --seeds 1000000 --universe 5000000 --seed 7
    """
    settings = generator_settings(
        seeds, universe, seed, deliveries=deliveries, delta_percent=delta_percent
    )
    loaded = ensure_workspace(chosen_workspace(workspace))
    with spark_session(loaded, chosen_master(master)) as spark:
        with spark_progress(spark, stderr, "generate"):
            result = generate_job.run(loaded, spark, settings=settings)
    emit(
        result.model_dump(),
        as_json,
        lambda: stderr.print(results_table("partnerkit generate", [result])),
    )


def demo(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace", "-w", help=f"Folder for the demo workspace (default ./{DEMO_WORKSPACE})."
        ),
    ] = None,
    seeds: SeedsOption = 2_000,
    universe: UniverseOption = 10_000,
    seed: RandomSeedOption = 42,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a small demo workspace and run every partnerkit job on it, then summarize.

    Example: partnerkit demo --workspace ./partnerkit-demo --seeds 2000 --universe 10000
    """
    settings = generator_settings(seeds, universe, seed)
    loaded = ensure_workspace(chosen_workspace(workspace, Path(DEMO_WORKSPACE)))
    with spark_session(loaded, chosen_master(master)) as spark:
        done = pipeline.run_demo(
            loaded, spark, settings=settings, stage=lambda name: spark_progress(spark, stderr, name)
        )
    results, quality = done.results, done.ground_truth
    generated = results[0].counts

    def render() -> None:
        stderr.print(results_table("partnerkit demo", results))
        stderr.print(demo_summary(generated))
        first_month = results[: done.first_month]
        by_job = {r.job: r for r in first_month}
        stderr.print(coverage_table(by_job["enrich"].counts["coverage"]))
        stderr.print(findings_table(by_job["steward"]))
        stderr.print(compare_table(by_job["compare"]))
        stderr.print(f"Steward report: file://{escape(by_job['steward'].outputs['report'])}")
        activations = [r for r in first_month if r.job == activate.JOB]
        for activation in activations[:2]:
            stderr.print(activation_summary(activation))
        stderr.print(*icp_tables(by_job["icp"].counts))
        stderr.print(f"ICP report: file://{escape(by_job['icp'].outputs.get('report', ''))}")
        stderr.print(lookalike_table(by_job["lookalike"]))
        stderr.print(activation_summary(activations[-1]))
        stderr.print(month_two_table(done.month_two))
        stderr.print(privacy_table(done.privacy))
        stderr.print(quality_table(quality, "matches after the delta, against its answer key"))
        stderr.print(f"Workspace: {escape(str(loaded.root))}")

    emit(
        {
            "workspace": str(loaded.root),
            "results": [r.model_dump() for r in results],
            "ground_truth": quality,
        },
        as_json,
        render,
    )


def runs(
    workspace: WorkspaceOption = None,
    job: Annotated[str | None, typer.Option("--job", help="Only runs of this job.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many runs, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List job runs from the workspace ledger, newest first.

    Example: partnerkit runs --workspace ./partnerkit-demo --job generate
    """
    from ingest.ledger import Ledger

    loaded = load_workspace(chosen_workspace(workspace))
    records = Ledger(loaded.ledger_path).runs(job=job, limit=limit + 1)
    records, more = within_limit(records, limit)

    def render() -> None:
        table = new_table(
            f"runs in {loaded.ledger_path}",
            ("started_at", "job", "status", "workflow_id", "error"),
        )
        for record in records:
            table.add_row(
                record.started_at,
                record.job,
                record.status,
                record.workflow_id,
                escape(record.error or ""),
            )
        stderr.print(table)
        print_cut_note(len(records), limit, more, "runs, newest first")

    emit({"runs": [record.model_dump() for record in records], "more": more}, as_json, render)


def vacuum(
    workspace: WorkspaceOption = None,
    keep_days: Annotated[
        float | None,
        typer.Option(
            "--keep-days",
            min=0,
            help="Keep versions replaced within this many days (default: keep_versions_days).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove table versions replaced longer ago than the workspace keeps them.

    Current versions, commit records and the ledger are never removed.

    Example: partnerkit vacuum --workspace ./partnerkit-demo --keep-days 7 --dry-run
    """
    loaded = load_workspace(chosen_workspace(workspace))
    if "://" in loaded.warehouse:  # an object store is reached through Spark's file systems
        result = run_spark_job(
            workspace,
            master,
            "vacuum",
            lambda ws, spark: vacuum_job.run(ws, spark, keep_days=keep_days, dry_run=dry_run),
        )
    else:
        result = vacuum_job.run(loaded, keep_days=keep_days, dry_run=dry_run)

    def render() -> None:
        counts = result.counts
        verb = "would remove" if dry_run else "removed"
        stderr.print(
            f"{verb} {counts['versions']} version(s) replaced more than "
            f"{counts['keep_days']:g} day(s) ago from {escape(loaded.warehouse)}"
        )
        for folder in counts["folders"]:
            stderr.print(f"  {escape(folder)}")

    emit(result.model_dump(), as_json, render)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(init)
    app.command()(generate)
    app.command()(demo)
    app.command()(runs)
    app.command()(vacuum)
