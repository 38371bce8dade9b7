"""The `partnerkit` command: typer + rich over the job modules, owning exit codes and output."""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from governance.catalogs import Governance, build_governance, describe_catalog
from governance.errors import GovernanceError
from governance.policies import Evaluation, dataset_uses, evaluate_policies, requested_uses
from ingest.errors import (
    EmptyFileError,
    HashMismatchError,
    IngestError,
    MissingColumnsError,
    QualityGateError,
    SourceError,
    UnknownProfileError,
)
from ingest.identity import reference
from ingest.identity.profiles import get_profile, load_profiles
from ingest.lookalike import ExpressionError
from jobs import activate as activate_job
from jobs import compare as compare_job
from jobs import enrich as enrich_job
from jobs import generate as generate_job
from jobs import icp as icp_job
from jobs import ingest as ingest_job
from jobs import lookalike as lookalike_job
from jobs import match as match_job
from jobs import persons as persons_job
from jobs import prepare as prepare_job
from jobs import resolve as resolve_job
from jobs import segments as segments_job
from jobs import steward as steward_job
from jobs.config import (
    CONFIG_FILE_NAME,
    Workspace,
    format_validation_errors,
    load_or_create_workspace,
    load_workspace,
    write_starter_workspace,
)
from jobs.errors import ConfigError, JavaUnavailableError, PartnerkitError, WorkspaceError
from jobs.progress import spark_progress
from jobs.runs import JobResult, WorkflowIdFilter
from jobs.spark import MASTER_ENV, SparkSettings, build_spark
from jobs.synthetic import GeneratorSettings
from jobs.tables import export_table
from jobs.views import coverage_table, fields_table, profile_view
from jobs.workspace_schema import (
    partner_spec,
    profile_fields,
    workspace_datasets,
    workspace_governance,
    workspace_namespaces,
    workspace_registry,
)
from schemas.errors import (
    InvalidSchemaError,
    NamespaceError,
    RecordValidationError,
    SchemaError,
    UnknownFieldError,
    UnknownSchemaError,
)
from schemas.registry import PROFILE_SCHEMA, bundled_registry, to_json_record

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_POLICY_BLOCKED = 3
EXIT_QUALITY_GATE = 4
EXIT_STEWARD_CHECK = 5

# Each error type the packages define maps to one exit code; anything else is 1.
EXIT_CODES: dict[type[BaseException], int] = {
    ConfigError: EXIT_USAGE,
    WorkspaceError: EXIT_USAGE,
    JavaUnavailableError: EXIT_ERROR,
    UnknownProfileError: EXIT_USAGE,
    HashMismatchError: EXIT_QUALITY_GATE,
    MissingColumnsError: EXIT_QUALITY_GATE,
    QualityGateError: EXIT_QUALITY_GATE,
    EmptyFileError: EXIT_QUALITY_GATE,
    SourceError: EXIT_ERROR,
    InvalidSchemaError: EXIT_USAGE,
    UnknownSchemaError: EXIT_USAGE,
    UnknownFieldError: EXIT_USAGE,
    NamespaceError: EXIT_USAGE,
    RecordValidationError: EXIT_ERROR,
    GovernanceError: EXIT_USAGE,
    ExpressionError: EXIT_USAGE,
}

DEMO_WORKSPACE = "partnerkit-demo"

stderr = Console(stderr=True)
app = typer.Typer(
    name="partnerkit",
    help="Enrich known customers with a data partner's attributes, under governance.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


class State:
    """Options given before the command (`partnerkit --json runs`); reset on every run_cli."""

    debug = False
    as_json = False
    workspace: Path | None = None
    master: str | None = None

    @classmethod
    def reset(cls) -> None:
        cls.debug = os.environ.get("PARTNERKIT_DEBUG", "") not in ("", "0", "false")
        cls.as_json, cls.workspace, cls.master = False, None, None


WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="PARTNERKIT_WORKSPACE",
        help="Workspace folder holding partnerkit.yaml.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Write one JSON document to stdout; messages go to stderr.")
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        "--master",
        envvar=MASTER_ENV,
        help="Spark master URL (local[2], spark://host:7077, yarn). Default: local mode.",
    ),
]


def package_version() -> str:
    try:
        return version("partnerkit")
    except PackageNotFoundError:
        return "unknown"


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"partnerkit {package_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="PARTNERKIT_DEBUG", help="Show tracebacks and Spark's own logs."
        ),
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print version."),
    ] = False,
    workspace: WorkspaceOption = None,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Enrich known customers with a data partner's attributes, under governance.

    Start with `partnerkit demo`, or `partnerkit init DIR` for a workspace of your own.
    """
    State.debug = State.debug or debug
    State.workspace, State.master, State.as_json = workspace, master, as_json
    configure_logging(State.debug)


def chosen_workspace(value: Path | None, default: Path = Path(".")) -> Path:
    """The command's --workspace, else the one given before the command, else the default."""
    return value or State.workspace or default


def chosen_master(value: str | None) -> str | None:
    return value or State.master


def wants_json(value: bool) -> bool:
    return value or State.as_json


def configure_logging(debug: bool) -> None:
    """Our logs on stderr stamped with the run's workflow_id; py4j and pyspark quiet."""
    handler = RichHandler(console=stderr, show_path=False, rich_tracebacks=debug)
    handler.addFilter(WorkflowIdFilter())
    handler.setFormatter(logging.Formatter("[%(workflow_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for noisy in ("py4j", "pyspark"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.ERROR)


@contextmanager
def spark_session(workspace: Workspace, master: str | None) -> Iterator[Any]:
    """The CLI process builds the one session and is the one that stops it."""
    spark_config = workspace.config.spark
    settings = SparkSettings(
        app_name="partnerkit",
        master=master or spark_config.master,
        shuffle_partitions=spark_config.shuffle_partitions,
        conf=spark_config.conf,
    )
    with stderr.status("Starting Spark..."):
        spark = build_spark(settings)
    try:
        yield spark
    finally:
        spark.stop()


def run_spark_job(workspace: Path | None, master: str | None, label: str,
                  job: Callable[[Workspace, Any], JobResult]) -> JobResult:  # fmt: skip
    """Load the workspace, start Spark, run one job with a progress display, stop Spark."""
    loaded = load_workspace(chosen_workspace(workspace))
    with spark_session(loaded, chosen_master(master)) as spark:
        with spark_progress(spark, stderr, label):
            return job(loaded, spark)


def emit(document: dict[str, Any], as_json: bool, render: Callable[[], None]) -> None:
    """Print exactly one JSON document on stdout, or the human rendering on stderr."""
    if wants_json(as_json):
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    else:
        render()


NUMERIC_COLUMNS = ("rows", "value", "requested", "resolved", "rate", "seconds")


def new_table(
    title: str, columns: Sequence[str], numeric: Sequence[str] = NUMERIC_COLUMNS
) -> Table:
    """A left-titled rich table; numeric columns right-aligned."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    return table


def results_table(title: str, results: Sequence[JobResult]) -> Table:
    table = new_table(title, ("job", "status", "seconds", "key counts", "workflow_id"))
    for result in results:
        table.add_row(
            result.job,
            result.status,
            f"{result.seconds:.1f}",
            summarize_counts(result.counts),
            result.workflow_id,
        )
    return table


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing partnerkit.yaml.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace with a commented starter partnerkit.yaml.

    Example: partnerkit init ./my-workspace
    """
    config_path = write_starter_workspace(directory, force=force)
    emit(
        {"workspace": str(directory.resolve()), "config": str(config_path.resolve())},
        as_json,
        lambda: stderr.print(f"Created {escape(str(config_path))}: edit it, then run the jobs."),
    )


def generator_settings(seeds: int, universe: int, seed: int) -> GeneratorSettings:
    try:
        return GeneratorSettings(seeds=seeds, universe=universe, seed=seed)
    except ValidationError as error:
        raise typer.BadParameter("; ".join(format_validation_errors(error))) from None


def ensure_workspace(directory: Path) -> Workspace:
    """Load a workspace, writing the starter config first when the folder has none."""
    workspace, created = load_or_create_workspace(directory)
    if created:
        stderr.print(f"Wrote a starter {CONFIG_FILE_NAME} in {escape(str(directory))}")
    return workspace


SeedsOption = Annotated[int, typer.Option("--seeds", help="Number of 1P seed profiles.")]
UniverseOption = Annotated[int, typer.Option("--universe", help="Number of partner persons.")]
RandomSeedOption = Annotated[
    int, typer.Option("--seed", help="Random seed; same seed, same files.")
]


@app.command()
def generate(
    workspace: WorkspaceOption = None,
    seeds: SeedsOption = 10_000,
    universe: UniverseOption = 50_000,
    seed: RandomSeedOption = 42,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a messy seed set, a hashed partner universe and the ground truth, with Spark.

    Example: partnerkit generate --workspace ./ws --seeds 1000000 --universe 5000000 --seed 7
    """
    settings = generator_settings(seeds, universe, seed)
    loaded = ensure_workspace(chosen_workspace(workspace))
    with spark_session(loaded, chosen_master(master)) as spark:
        with spark_progress(spark, stderr, "generate"):
            result = generate_job.run(loaded, spark, settings=settings)
    emit(
        result.model_dump(),
        as_json,
        lambda: stderr.print(results_table("partnerkit generate", [result])),
    )


@app.command()
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
    results: list[JobResult] = []
    with spark_session(loaded, chosen_master(master)) as spark:
        stages: list[tuple[str, Callable[[], JobResult]]] = [
            ("generate", lambda: generate_job.run(loaded, spark, settings=settings)),
            *[
                (f"ingest {p.name}", lambda p=p: ingest_demo_partner(loaded, spark, p))
                for p in loaded.config.partners
            ],  # fmt: skip
            ("prepare", lambda: prepare_job.run(loaded, spark)),
            ("match", lambda: match_job.run(loaded, spark)),
            ("enrich", lambda: enrich_job.run(loaded, spark, validate_rows=0)),
            ("check", lambda: steward_job.run(loaded)),
            ("compare", lambda: compare_job.run(loaded, spark)),
            ("segments", lambda: segments_job.run(loaded, spark)),
            *demo_activations(loaded, spark),
            ("icp", lambda: icp_job.run(loaded, spark, partner=DEMO_PARTNER)),
            ("lookalike", lambda: demo_lookalike(loaded, spark, results[-1])),
            (
                "activate prospects",
                lambda: activate_job.run_prospects(
                    loaded, spark, prospects=DEMO_PROSPECTS, destination="partner_id_audience"
                ),
            ),
        ]
        for name, stage in stages:
            with spark_progress(spark, stderr, name):
                results.append(stage())
        quality = generate_job.evaluate(loaded, spark)
    generated = results[0].counts

    def render() -> None:
        stderr.print(results_table("partnerkit demo", results))
        stderr.print(demo_summary(generated))
        stderr.print(quality_table(quality))
        by_job = {r.job: r for r in results}
        stderr.print(coverage_table(by_job["enrich"].counts["coverage"]))
        stderr.print(findings_table(by_job["steward"]))
        stderr.print(compare_table(by_job["compare"]))
        stderr.print(f"Steward report: file://{escape(by_job['steward'].outputs['report'])}")
        for activation in [r for r in results if r.job == activate_job.JOB][:2]:
            stderr.print(activation_summary(activation))
        stderr.print(*icp_tables(by_job["icp"].counts))
        stderr.print(f"ICP report: file://{escape(by_job['icp'].outputs.get('report', ''))}")
        stderr.print(lookalike_table(by_job["lookalike"]))
        stderr.print(activation_summary(results[-1]))
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


DEMO_BUCKET = "partnerkit-demo"


DEMO_PARTNER = "acme"
DEMO_PROSPECTS = "icp_precision"


def demo_lookalike(workspace: Workspace, spark: Any, icp_result: JobResult) -> JobResult:
    """The ICP's precision expression over the universe, customers excluded, saved."""
    expression = icp_result.counts.get("suggestions", {}).get("precision")
    if expression is None:  # too few members for a 3-attribute cluster: use the top attribute
        top = icp_result.counts["top_lift"][0]
        expression = top["cluster_hash"]
    return lookalike_job.run(workspace, spark, partner=DEMO_PARTNER, expression=expression,
                             exclude_customers=True, save=DEMO_PROSPECTS)  # fmt: skip


DEMO_ACTIVATIONS = (
    ("high_earning_homeowners", "web_personalization"),  # allowed: files + manifest on S3
    ("high_earning_homeowners", "data_broker"),  # blocked: 3PD data to a third party
)


def demo_activations(workspace: Workspace, spark: Any) -> list[tuple[str, Callable[[], JobResult]]]:
    """The demo's two activations; S3 destinations go to a local moto server on 127.0.0.1."""
    from jobs.local_s3 import local_s3_server, moto_available

    def activation(segment: str, destination: str) -> JobResult:
        target = workspace.destination(destination)
        if target.type != "s3":
            return activate_job.run(workspace, spark, segment=segment, destination=destination)
        if not moto_available():
            stderr.print(f"moto is not installed: {destination} is evaluated but not written")
            return activate_job.run(workspace, spark, segment=segment, destination=destination,
                                    dry_run=True)  # fmt: skip
        from ingest.sources import ensure_bucket, split_s3_uri

        with local_s3_server():
            ensure_bucket(split_s3_uri(target.path.rstrip("/") + "/")[0])
            return activate_job.run(workspace, spark, segment=segment, destination=destination)

    return [
        (f"activate {segment} -> {destination}",
         lambda s=segment, d=destination: activation(s, d))  # type: ignore[misc]
        for segment, destination in DEMO_ACTIVATIONS
    ]  # fmt: skip


def ingest_demo_partner(workspace: Workspace, spark: Any, partner: Any) -> JobResult:
    """Upload a partner's generated files to a local S3 (moto) and ingest them from s3://.

    Without moto installed (`pip install 'partnerkit[demo]'`) the files are ingested from disk.
    """
    from ingest.sources import ensure_bucket, list_local, upload_files
    from jobs.local_s3 import local_s3_server, moto_available

    local = workspace.resolve(partner.source.path)
    if not moto_available():
        stderr.print("moto is not installed: ingesting the demo files from disk, not S3")
        return ingest_job.run(workspace, spark, partner=partner.name)
    with local_s3_server():
        ensure_bucket(DEMO_BUCKET)
        files = [Path(f.uri) for f in list_local(local)]
        upload_files(files, DEMO_BUCKET, partner.name)
        source = f"s3://{DEMO_BUCKET}/{partner.name}/"
        return ingest_job.run(workspace, spark, partner=partner.name, sources=[source])


def quality_table(quality: dict[str, Any]) -> Table:
    table = Table(title="matches against the ground truth", title_justify="left")
    for key in quality:
        table.add_column(key, justify="right")
    table.add_row(*[f"{v:.2%}" if isinstance(v, float) else f"{v:,}" for v in quality.values()])
    return table


def summarize_counts(counts: dict[str, Any]) -> str:
    """A short line for the results table: scalar counts, and rates of nested match stats."""
    parts = []
    for key, value in counts.items():
        if isinstance(value, dict) and "rate" in value:
            parts.append(
                f"{key}: {value['resolved']:,}/{value['requested']:,} ({value['rate']:.1%})"
            )
        elif isinstance(value, dict) and key == "totals":
            parts += [f"{k}={v:,}" for k, v in value.items() if isinstance(v, int)]
        elif isinstance(value, int) and "." not in key:
            parts.append(f"{key}={value:,}")
    return ", ".join(parts[:4])


def demo_summary(counts: dict[str, Any]) -> Table:
    """What the generated data holds: ground truth and the messy variants really present."""
    table = new_table("generated data", ("what", "rows"))
    for key in (
        "seeds",
        "universe",
        "in_universe",
        "email_in_universe",
        "phone_in_universe",
        "address_in_universe",
    ):
        table.add_row(key, f"{counts.get(key, 0):,}")
    by_kind: dict[str, list[str]] = {}
    for key, value in counts.items():
        if key.startswith("variant."):
            kind, _, variant = key.removeprefix("variant.").partition(":")
            by_kind.setdefault(kind, []).append(f"{variant} {value:,}")
    for kind, parts in by_kind.items():
        table.add_row(f"{kind} variants", ", ".join(parts))
    return table


PartnerOption = Annotated[
    str | None, typer.Option("--partner", help="Only this partner (default: every partner).")
]


@app.command()
def prepare(
    workspace: WorkspaceOption = None,
    partner: PartnerOption = None,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Normalize and hash the seed set for each partner; quarantine what cannot be used.

    Example: partnerkit prepare --workspace ./partnerkit-demo --partner acme
    """
    result = run_spark_job(
        workspace, master, "prepare", lambda w, s: prepare_job.run(w, s, partner=partner)
    )
    emit(result.model_dump(), as_json, lambda: stderr.print(prepare_table(result)))


def prepare_table(result: JobResult) -> Table:
    table = new_table(f"seed_prepare {result.workflow_id}", ("count", "value"))
    for key, value in result.counts.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    return table


ExportOption = Annotated[
    str | None,
    typer.Option("--format", help="Also export matches and evidence as csv, json or jsonl."),
]


PrepareFirstOption = Annotated[
    bool,
    typer.Option(
        "--prepare",
        help="Run seed prepare first, in the same Spark session (one JVM start, not two).",
    ),
]


@app.command()
def match(
    workspace: WorkspaceOption = None,
    partner: PartnerOption = None,
    export_format: ExportOption = None,
    prepare_first: PrepareFirstOption = False,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Match prepared seeds against each partner universe and print the match statistics.

    Example: partnerkit match --workspace ./partnerkit-demo --partner acme --prepare --format csv
    """
    if export_format not in (None, "csv", "json", "jsonl"):
        raise typer.BadParameter("expected csv, json or jsonl", param_hint="--format")
    loaded = load_workspace(chosen_workspace(workspace))
    prepared: JobResult | None = None
    with spark_session(loaded, chosen_master(master)) as spark:
        if prepare_first:
            with spark_progress(spark, stderr, "prepare + match"):
                prepared, result = match_job.prepare_and_match(
                    loaded, spark, partner=partner, export_format=export_format
                )
        else:
            with spark_progress(spark, stderr, "match"):
                result = match_job.run(loaded, spark, partner=partner, export_format=export_format)
    document = result.model_dump()
    if prepared is not None:
        document[prepare_job.JOB] = prepared.model_dump()

    def show() -> None:
        if prepared is not None:
            stderr.print(prepare_table(prepared))
        stderr.print(*match_tables(result))

    emit(document, as_json, show)


def match_tables(result: JobResult) -> list[Table]:
    """One table per partner: overall, per identifier kind, and why profiles went unmatched."""
    tables = []
    for partner, stats in result.counts.items():
        table = new_table(
            f"match {partner} ({result.workflow_id})", ("scope", "requested", "resolved", "rate")
        )
        table.add_row("all profiles", f"{stats['requested']:,}", f"{stats['resolved']:,}",
                      f"{stats['rate']:.2%}")  # fmt: skip
        for kind, kind_stats in stats["by_identifier"].items():
            table.add_row(f"  by {kind}", f"{kind_stats['requested']:,}",
                          f"{kind_stats['resolved']:,}", f"{kind_stats['rate']:.2%}")  # fmt: skip
        for reason, count in stats["unmatched"].items():
            table.add_row(f"  unmatched: {reason}", f"{count:,}", "", "")
        tables.append(table)
    return tables


KindOption = Annotated[str, typer.Option("--kind", help="email, phone, address or maid.")]


@app.command(name="hash")
def hash_values(
    values: Annotated[list[str], typer.Argument(help="Values to normalize and hash.")],
    profile: Annotated[str, typer.Option("--profile", help="Normalization profile.")],
    kind: KindOption = "email",
    country: Annotated[
        str | None, typer.Option("--country", help="ISO country for national phone numbers.")
    ] = None,
    hash_type: Annotated[
        str | None,
        typer.Option("--hash", help="plaintext, md5, sha1 or sha256 (default: the profile's)."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="hex or base64 (default: the profile's).")
    ] = None,
) -> None:
    """Normalize and hash values by hand with a profile's rules; one JSON object per value.

    Addresses are written on one line: "123 Main St, San Francisco, CA 94105".
    No JVM is started: this runs the pure-Python twins of the Spark rules.

    Example: partnerkit hash --profile uid2 --kind email "Jane.Doe+news@Gmail.com"
    """
    if kind not in ("email", "phone", "address", "maid"):
        raise typer.BadParameter("expected email, phone, address or maid", param_hint="--kind")
    if hash_type not in (None, "plaintext", "md5", "sha1", "sha256"):
        raise typer.BadParameter("expected plaintext, md5, sha1 or sha256", param_hint="--hash")
    if encoding not in (None, "hex", "base64"):
        raise typer.BadParameter("expected hex or base64", param_hint="--encoding")
    chosen = get_profile(profile)
    algorithm, text_form = hash_type or chosen.hash, encoding or chosen.encoding
    for index, value in enumerate(values):
        if kind == "address":
            result = reference.normalize_address(*reference.split_one_line_address(value))
        else:
            result = reference.normalize_identifier(kind, chosen, value, country=country)
        digest = reference.hash_value(result.value, algorithm, text_form) if result.value else None
        document = {
            "index": index,
            "status": "ok" if result.value is not None else "rejected",
            "normalized": result.value,
            "hash": digest,
            "hash_type": algorithm if algorithm == "plaintext" else f"{algorithm}_{text_form}",
            "reason": result.reason,
        }
        sys.stdout.write(json.dumps(document) + "\n")


@app.command()
def profiles(as_json: JsonOption = False) -> None:
    """List the normalization profiles, their steps per identifier kind and default hash.

    Example: partnerkit profiles --json
    """
    catalog = load_profiles()
    document = {
        name: {
            "version": profile.version,
            "hash": profile.hash,
            "encoding": profile.encoding,
            "source": profile.source,
            "steps": {
                k: profile.describe_steps(k)
                for k in ("email", "phone", "address", "maid")
                if profile.supports(k)
            },
        }
        for name, profile in catalog.items()
    }

    def render() -> None:
        table = new_table(
            "normalization profiles", ("profile", "email", "phone", "address", "hash"), numeric=()
        )
        for name, info in document.items():
            steps = info["steps"]
            table.add_row(
                f"{name} v{info['version']}",
                ", ".join(steps.get("email", [])) or "-",
                ", ".join(steps.get("phone", [])) or "-",
                ", ".join(steps.get("address", [])) or "-",
                f"{info['hash']} {info['encoding']}",
            )
        stderr.print(table)

    emit({"profiles": document}, as_json, render)


@app.command()
def resolve(
    partner: Annotated[str, typer.Option("--partner", help="Partner whose universe to search.")],
    email: Annotated[
        list[str] | None, typer.Option("--email", help="An email (repeatable).")
    ] = None,
    phone: Annotated[
        list[str] | None, typer.Option("--phone", help="A phone (repeatable).")
    ] = None,
    address: Annotated[
        list[str] | None, typer.Option("--address", help='One line: "1 Main St, City, ST 12345".')
    ] = None,
    workspace: WorkspaceOption = None,
    master: MasterOption = None,
) -> None:
    """Look up a few identifiers in a partner universe; prints seed 000's resolve shape as JSON.

    Criterion values in the answer are the hashes, never the plaintext you typed.

    Example: partnerkit resolve --workspace ./partnerkit-demo --partner acme --email a@example.com
    """
    values = {k: v for k, v in (("email", email), ("phone", phone), ("address", address)) if v}
    if not values:
        raise typer.BadParameter("give at least one --email, --phone or --address")
    loaded = load_workspace(chosen_workspace(workspace))
    with spark_session(loaded, chosen_master(master)) as spark:
        _result, response = resolve_job.run(loaded, spark, partner=partner, values=values)
    sys.stdout.write(json.dumps(response, indent=2) + "\n")


@app.command()
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
    records = Ledger(loaded.ledger_path).runs(job=job, limit=limit)

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

    emit({"runs": [record.model_dump() for record in records]}, as_json, render)


@app.command()
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


def ingest_table(result: JobResult) -> Table:
    table = new_table(
        f"partner_ingest {result.workflow_id}",
        ("source", "batch", "status", "input", "accepted", "quarantined"),
    )
    for batch in result.counts.get("batches", []):
        table.add_row(
            escape(batch["source"]), batch["batch_id"], batch["status"],
            f"{batch.get('input_rows', 0):,}", f"{batch.get('accepted_rows', 0):,}",
            f"{batch.get('quarantined_rows', 0):,}",
        )  # fmt: skip
    return table


@app.command()
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
            ("started_at", "partner", "batch", "status", "input", "accepted", "quarantined",
             "source", "error"),
        )  # fmt: skip
        for record in records:
            counts = record.counts
            table.add_row(
                record.started_at, record.partner, record.batch_id,
                record.status + (f" of {record.duplicate_of}" if record.duplicate_of else ""),
                f"{counts.get('input_rows', 0):,}", f"{counts.get('accepted_rows', 0):,}",
                f"{counts.get('quarantined_rows', 0):,}", escape(record.source_uri),
                escape(record.error or ""),
            )  # fmt: skip
        stderr.print(table)

    emit({"batches": [record.model_dump() for record in records]}, as_json, render)


@app.command()
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
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build the profiles table: 1P fields, identities and each partner's attributes.

    Example: partnerkit enrich --workspace ./partnerkit-demo
    """
    moment = as_of.replace(tzinfo=as_of.tzinfo or UTC) if as_of else None
    result = run_spark_job(
        workspace, master, "enrich",
        lambda w, s: enrich_job.run(w, s, as_of=moment, validate_rows=validate),
    )  # fmt: skip

    def render() -> None:
        stderr.print(results_table("partnerkit enrich", [result]))
        stderr.print(coverage_table(result.counts["coverage"]))
        stderr.print(f"validated {result.counts['validated_records']:,} record(s) against the "
                     f"schema; profiles at {escape(result.outputs['profiles'])}")  # fmt: skip

    emit(result.model_dump(), as_json, render)


@app.command()
def profile(
    workspace: WorkspaceOption = None,
    email: Annotated[str | None, typer.Option("--email", help="Find by email.")] = None,
    profile_id: Annotated[str | None, typer.Option("--profile-id", help="Find by ID.")] = None,
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
        records = persons_job.lookup_profiles(loaded, spark, profile_id=profile_id, email=email)
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
                table = new_table("canonical attributes (one value chosen across partners)",
                                  ("domain", "attribute", "value", "from", "partners"),
                                  numeric=("partners",))  # fmt: skip
                for row in chosen:
                    table.add_row(row["domain"], row["attribute"], escape(row["value"]),
                                  row["provider"], str(row["providers"]))  # fmt: skip
                stderr.print(table)

    emit(records[0] if len(records) == 1 else {"profiles": records}, as_json, render)


PersonFormat = Annotated[str, typer.Option("--format", help="json, jsonl or csv.")]


@app.command(name="get-person")
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
    """Export partner attributes per person as seed 000's get_person does (flat, numbered).

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
            frame = persons if output_format != "csv" else persons.select("person_id", "domains.*")
            path = export_table(frame, output.resolve(), output_format)
            stderr.print(f"wrote {escape(str(path))}")
            return
        rows = [to_json_record(r.asDict(recursive=True)) for r in persons.limit(limit).collect()]
    write_persons(rows, output_format)


def write_persons(rows: list[dict[str, Any]], output_format: str) -> None:
    """Print persons on stdout: one JSON document, JSON lines, or CSV with a header."""
    if output_format == "json":
        sys.stdout.write(json.dumps({"profiles": rows}, indent=2) + "\n")
    elif output_format == "jsonl":
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
    else:
        keys = list(dict.fromkeys(k for row in rows for k in row.get("domains", {})))
        writer = csv.writer(sys.stdout)
        writer.writerow(["person_id", *keys])
        for row in rows:
            writer.writerow([row["person_id"], *[row.get("domains", {}).get(k, "") for k in keys]])


schema_app = typer.Typer(
    help="Inspect the XDM schemas: fields, types and labels.\n\n"
    "Example: partnerkit schema show enriched_profile --labels",
    no_args_is_help=True,
)
app.add_typer(schema_app, name="schema")


@schema_app.command("show")
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
            ],  # fmt: skip
        },
        as_json,
        render,
    )


OptionalWorkspace = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", envvar="PARTNERKIT_WORKSPACE",
                 help="Workspace whose labels, actions and policies are added (optional)."),
]  # fmt: skip


def chosen_governance(workspace: Path | None) -> tuple[Governance, Workspace | None]:
    """The workspace's catalogs when one is given (or found in the current folder), else core."""
    chosen = workspace or State.workspace
    if chosen is None and (Path(".") / CONFIG_FILE_NAME).is_file():
        chosen = Path(".")
    if chosen is None:
        return build_governance(), None
    loaded = load_workspace(chosen)
    return workspace_governance(loaded), loaded


@app.command()
def labels(workspace: OptionalWorkspace = None, as_json: JsonOption = False) -> None:
    """List the data usage labels in force: core, third-party, workspace and partner contracts.

    Example: partnerkit labels --workspace ./partnerkit-demo
    """
    governance, _ = chosen_governance(workspace)

    def render() -> None:
        table = new_table("labels", ("code", "category", "name", "meaning", "origin"))
        for label in governance.labels.values():
            table.add_row(escape(label.code), label.category, escape(label.name),
                          escape(label.description),
                          governance.origins.get(f"label:{label.code}", ""))  # fmt: skip
        stderr.print(table)

    emit({"labels": describe_catalog(governance)["labels"]}, as_json, render)


@app.command()
def policies(workspace: OptionalWorkspace = None, as_json: JsonOption = False) -> None:
    """List the policies and marketing actions in force, with their conditions and status.

    Example: partnerkit policies --workspace ./partnerkit-demo --json
    """
    governance, _ = chosen_governance(workspace)
    document = describe_catalog(governance)

    def render() -> None:
        table = new_table("policies", ("id", "marketing actions", "denied when", "status",
                                       "origin"))  # fmt: skip
        for policy in document["policies"]:
            actions = ", ".join(policy["marketing_actions"])
            table.add_row(escape(policy["id"]), actions, escape(policy["condition"]),
                          policy["status"], policy["origin"])  # fmt: skip
        stderr.print(table)
        stderr.print("marketing actions: " + ", ".join(governance.actions))

    emit({k: document[k] for k in ("policies", "marketing_actions")}, as_json, render)


policy_app = typer.Typer(
    help="Evaluate data usage policies.\n\n"
    "Example: partnerkit policy evaluate --action emailTargeting --labels C4,I1",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")


def evaluation_table(evaluation: Evaluation) -> Table:
    verdict = "allowed" if evaluation.allowed else "DENIED"
    labels_used = ", ".join(evaluation.consolidated_labels) or "-"
    table = new_table(
        f"{evaluation.action}: {verdict} (labels {labels_used})", ("policy", "why", "remedies")
    )
    for violation in evaluation.violations:
        table.add_row(escape(violation.policy_id), escape("\n".join(violation.chains)),
                      escape("\n".join(violation.remedies)))  # fmt: skip
    return table


@policy_app.command("evaluate")
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
    uses = requested_uses(c.strip() for c in label_codes.split(",") if c.strip())
    where = "--labels"
    if dataset is not None:
        if loaded is None:
            raise typer.BadParameter("--dataset needs --workspace", param_hint="--dataset")
        views = workspace_datasets(loaded, profile_fields(loaded))
        paths = [f.strip() for f in fields.split(",") if f.strip()]
        uses += dataset_uses(views, {dataset: paths})
        where = f"dataset {dataset}"
    if not uses:
        raise typer.BadParameter("give --labels or --dataset", param_hint="--labels")
    evaluation = evaluate_policies(governance, action, uses, include_drafts=drafts, where=where)
    if loaded is not None:
        record_evaluation(loaded, evaluation)
    emit(evaluation.model_dump(), as_json, lambda: stderr.print(evaluation_table(evaluation)))
    if not evaluation.allowed:
        raise typer.Exit(EXIT_POLICY_BLOCKED)


def record_evaluation(workspace: Workspace, evaluation: Evaluation) -> None:
    """Audit: the evaluation goes to the ledger as a run with one event."""
    from ingest.ledger import Ledger
    from jobs.runs import record_run

    with record_run(Ledger(workspace.ledger_path), "policy_evaluate") as run:
        Ledger(workspace.ledger_path).record_event(
            run.workflow_id, "policy_evaluation", evaluation.model_dump()
        )
        run.counts["violations"] = len(evaluation.violations)


def findings_table(result: JobResult) -> Table:
    counts = result.counts
    table = new_table(f"steward check: {counts['errors']} error(s), {counts['warnings']} "
                      "warning(s)", ("level", "check", "where", "finding"))  # fmt: skip
    for finding in counts["findings"]:
        table.add_row(finding["level"], finding["check"], escape(finding["where"]),
                      escape(finding["message"]))  # fmt: skip
    if not counts["findings"]:
        table.add_row("ok", "every check", "", "no findings")
    return table


@app.command()
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


@app.command()
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
        table = new_table(f"segments ({result.counts['profiles']:,} profiles)",
                          ("segment", "members", "fields read"))  # fmt: skip
        for key, value in result.counts.items():
            if isinstance(value, dict):
                table.add_row(key, f"{value['members']:,}", escape(", ".join(value["fields"])))
        stderr.print(table)

    emit(result.model_dump(), as_json, render)


def activation_summary(result: JobResult) -> Table:
    counts = result.counts
    verdict = "ALLOWED" if counts["allowed"] else "BLOCKED"
    table = new_table(f"activate {counts['segment']} -> {counts['destination']}: {verdict}",
                      ("what", "detail"))  # fmt: skip
    for key in ("members", "without_consent", "without_identifiers", "exported_rows", "files",
                "manifest"):  # fmt: skip
        if key in counts:
            value = counts[key]
            table.add_row(key, f"{value:,}" if isinstance(value, int) else escape(str(value)))
    for chain in counts["chains"]:
        table.add_row("violation", escape(chain))
    for remedy in counts["remedies"]:
        table.add_row("remedy", escape(remedy))
    changed = counts.get("changed_since_allowed")
    if changed:
        table.add_row("allowed before", f"{changed['at']} ({changed['workflow_id']})")
        for change in changed["changes"] or ["(no recorded input differs)"]:
            table.add_row("what changed", escape(change))
    return table


@app.command()
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
            workspace, master, "activate",
            lambda w, s: activate_job.run_prospects(w, s, prospects=prospects,
                                                    destination=destination, dry_run=dry_run),
        )  # fmt: skip
    else:
        result = run_spark_job(
            workspace, master, "activate",
            lambda w, s: activate_job.run(w, s, segment=segment_name, destination=destination,
                                          dry_run=dry_run),
        )  # fmt: skip
    emit(result.model_dump(), as_json, lambda: stderr.print(activation_summary(result)))
    if not result.counts["allowed"]:
        raise typer.Exit(EXIT_POLICY_BLOCKED)


@app.command()
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
    records = Ledger(loaded.ledger_path).runs(job=activate_job.JOB, limit=limit)

    def render() -> None:
        table = new_table("activations", ("started_at", "segment", "destination", "decision",
                                          "rows", "manifest"))  # fmt: skip
        for record in records:
            counts = record.counts
            decision = "allowed" if counts.get("allowed") else "blocked"
            if counts.get("dry_run"):
                decision += " (dry run)"
            table.add_row(record.started_at, counts.get("segment", ""),
                          counts.get("destination", ""), decision,
                          f"{counts.get('exported_rows', 0):,}",
                          escape(str(counts.get("manifest", ""))))  # fmt: skip
        stderr.print(table)

    emit({"activations": [record.model_dump() for record in records]}, as_json, render)


@app.command()
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
    from jobs.universe import load_clusters

    names = {n.strip() for n in name.split(",") if n.strip()}
    values = {v.strip() for v in value.split(",") if v.strip()}

    def listing(loaded: Workspace, spark: Any) -> JobResult:
        chosen = loaded.partner(partner or loaded.config.partners[0].name)
        frame, size = load_clusters(loaded, spark, chosen)
        rows = [
            r.asDict()
            for r in frame.orderBy("domain", "name", "value").collect()
            if (not names or r["name"] in names) and (not values or r["value"] in values)
        ]
        return JobResult(job="clusters", workflow_id="-", status="succeeded", seconds=0.0,
                         counts={"universe_size": size, "clusters": rows}, outputs={})  # fmt: skip

    result = run_spark_job(workspace, master, "clusters", listing)
    document = {"universe_size": result.counts["universe_size"],
                "clusters": result.counts["clusters"]}  # fmt: skip

    def render() -> None:
        table = new_table(f"clusters (universe {document['universe_size']:,})",
                          ("cluster_hash", "cluster_id", "domain", "name", "value", "size"),
                          numeric=("size",))  # fmt: skip
        for row in document["clusters"]:
            table.add_row(row["cluster_hash"], row["cluster_id"], row["domain"], row["name"],
                          escape(row["value"]), f"{row['size']:,}")  # fmt: skip
        stderr.print(table)

    emit(document, as_json, render)


def refusal_table(title: str, counts: dict[str, Any]) -> Table:
    table = new_table(f"{title}: BLOCKED (dataScience)", ("what", "detail"))
    for chain in counts.get("chains", []):
        table.add_row("violation", escape(chain))
    for remedy in counts.get("remedies", []):
        table.add_row("remedy", escape(remedy))
    return table


def icp_tables(counts: dict[str, Any]) -> list[Table]:
    top = new_table(f"ICP {counts['partner']}: {counts.get('members', 0):,} members, top lift",
                    ("attribute", "value", "members", "rate", "universe", "lift"),
                    numeric=("members", "rate", "universe", "lift"))  # fmt: skip
    for row in counts.get("top_lift", [])[:10]:
        rates = (f"{row['rate']:.1%}", f"{row['universe_rate']:.1%}", f"{row['lift']:.2f}")
        top.add_row(row["name"], escape(row["value"]), f"{row['count']:,}", *rates)
    pairs = new_table("top pairs", ("a", "b", "members", "support", "lift"),
                      numeric=("members", "support", "lift"))  # fmt: skip
    for pair in counts.get("pairs", [])[:10]:
        pairs.add_row(escape(pair["a"]), escape(pair["b"]), f"{pair['count']:,}",
                      f"{pair['support']:.1%}", f"{pair['lift']:.2f}")  # fmt: skip
    sets = new_table("clusters of 3+ (FP-Growth)", ("items", "members"), numeric=("members",))
    for itemset in counts.get("itemsets", [])[:10]:
        sets.add_row(escape(" AND ".join(itemset["items"])), f"{itemset['count']:,}")
    return [top, pairs, sets]


@app.command()
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
        workspace, master, "icp",
        lambda w, s: icp_job.run(w, s, partner=partner or w.config.partners[0].name,
                                 segment=segment_name, min_support=min_support),
    )  # fmt: skip

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


def lookalike_table(result: JobResult, sizes: dict[str, Any] | None = None) -> Table:
    """A lookalike's outcome: its expression, total and sample (or the refusal)."""
    if not result.counts.get("allowed"):
        return refusal_table(result.job, result.counts)
    table = new_table(f"lookalike {result.counts['partner']}", ("what", "detail"))
    table.add_row("expression", escape(result.counts["expression"]))
    table.add_row("total", f"{result.counts['total']:,} of {result.counts['universe_size']:,}")
    table.add_row("sample", escape(", ".join(result.counts["sample"])))
    for mode, entry in (sizes or {}).items():
        table.add_row(f"{mode} size", f"{entry['total']:,}")
    for name, path in result.outputs.items():
        table.add_row("saved", f"{escape(name)}: {escape(path)}")
    return table


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


@app.command()
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
    if suggest is not None and suggest not in ("precision", "reach", "hybrid"):
        raise typer.BadParameter("precision, reach or hybrid", param_hint="--suggest")
    point, distance = parse_near(near, radius)
    sizes: dict[str, Any] = {}

    def lookalikes(loaded: Workspace, spark: Any) -> JobResult:
        chosen = partner or loaded.config.partners[0].name
        text = expression
        if suggest is not None:
            analysis = icp_job.run(loaded, spark, partner=chosen)
            if not analysis.counts["allowed"]:
                return analysis
            for mode, candidate in analysis.counts.get("suggestions", {}).items():
                sizes[mode] = {"expression": candidate, "total": lookalike_job.run(
                    loaded, spark, partner=chosen, expression=candidate,
                    exclude_customers=exclude_customers).counts.get("total")}  # fmt: skip
            if suggest not in sizes:
                raise WorkspaceError(f"--suggest {suggest}", "an ICP with enough members for "
                                     "that approach (try a lower --min-support)")  # fmt: skip
            text = sizes[suggest]["expression"]
        return lookalike_job.run(loaded, spark, partner=chosen, expression=text or "",
                                 exclude_customers=exclude_customers, near=point,
                                 radius=distance, save=save)  # fmt: skip

    result = run_spark_job(workspace, master, "lookalike", lookalikes)
    document = {**result.model_dump(), "suggestions": sizes}

    def render() -> None:
        stderr.print(lookalike_table(result, sizes))

    emit(document, as_json, render)
    if not result.counts["allowed"]:
        raise typer.Exit(EXIT_POLICY_BLOCKED)


def compare_table(result: JobResult) -> Table:
    """Agreement per partner pair, then per attribute."""
    table = new_table("where partners agree", ("scope", "agree", "disagree", "not comparable",
                                                "agreement"), numeric=("agree", "disagree",
                                                "not comparable", "agreement"))  # fmt: skip
    for pair in result.counts["by_pair"]:
        rate = pair["agreement_rate"]
        table.add_row(f"{pair['provider_a']} vs {pair['provider_b']}", f"{pair['agree']:,}",
                      f"{pair['compared'] - pair['agree']:,}", "",
                      "-" if rate is None else f"{rate:.1%}")  # fmt: skip
    single = [r for r in result.counts["by_attribute"] if r["agree"] + r["disagree"] == 0]
    for row in result.counts["by_attribute"]:
        if row in single:
            continue
        rate = row["agreement_rate"]
        shown = "-" if rate is None else f"{rate:.1%}"
        table.add_row(f"  {row['attribute']}", f"{row['agree']:,}", f"{row['disagree']:,}",
                      f"{row['not_comparable']:,}", shown)  # fmt: skip
    if single:
        table.add_row(f"  {len(single)} attributes from one partner only", "", "",
                      f"{sum(r['not_comparable'] for r in single):,}", "-")  # fmt: skip
    return table


@app.command()
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


def exit_code_for(error: BaseException) -> int:
    for error_type, code in EXIT_CODES.items():
        if isinstance(error, error_type):
            return code
    return EXIT_ERROR


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (tests call this; main() exits with it)."""
    State.reset()
    try:
        app(args=list(argv) if argv is not None else None, prog_name="partnerkit")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except (PartnerkitError, IngestError, SchemaError, GovernanceError) as error:
        if State.debug:
            raise
        stderr.print(f"[bold red]Error:[/] {escape(str(error))}")
        return exit_code_for(error)
    except KeyboardInterrupt:
        stderr.print("[bold red]Interrupted.[/]")
        return 130
    except Exception as error:
        if State.debug:
            raise
        # Not ours: Spark's text can quote row values, so show the type and where to look.
        stderr.print(
            f"[bold red]Error:[/] unexpected {type(error).__name__}; "
            "run again with --debug for the full traceback."
        )
        return EXIT_ERROR
    return EXIT_OK


def main() -> None:
    sys.exit(run_cli())
