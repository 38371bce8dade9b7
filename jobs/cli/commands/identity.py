"""Commands about identifiers: hash, profiles, prepare, match, resolve."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ingest.identity import reference
from ingest.identity.profiles import TEXT_KINDS, get_profile, load_profiles, newest_profiles
from ingest.identity.rules import phone_regions
from jobs import match as match_job
from jobs import pipeline
from jobs import resolve as resolve_job
from jobs import seed_prepare as prepare_job
from jobs.cli.options import (
    JsonOption,
    MasterOption,
    PartnerOption,
    State,
    WorkspaceOption,
    chosen_master,
    chosen_workspace,
)
from jobs.cli.output import (
    emit,
    exit_on_drift,
    new_table,
    print_written,
    run_spark_job,
    spark_session,
    stderr,
)
from jobs.cli.progress import spark_progress
from jobs.cli.views import match_tables, prepare_table
from jobs.config import (
    load_workspace,
)
from jobs.runtime.runs import JobResult

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
FullOption = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Match every seed against the whole universe, not only the seeds and partner "
        "persons changed since the partner's last match.",
    ),
]


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


def match(
    workspace: WorkspaceOption = None,
    partner: PartnerOption = None,
    export_format: ExportOption = None,
    prepare_first: PrepareFirstOption = False,
    full: FullOption = False,
    master: MasterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Match prepared seeds against each partner universe and print the match statistics.

    Incremental by default: after a delta delivery or a seed-set change only what changed is
    matched again, with the result a full run gives; the output says which ran and why.

    Exits 6 (results kept) when a match rate fell more than the partner's
    monitoring.max_rate_drop since its previous match run.

    Example: partnerkit match --workspace ./partnerkit-demo --partner acme --prepare --format csv
    """
    if export_format not in (None, "csv", "json", "jsonl"):
        raise typer.BadParameter("expected csv, json or jsonl", param_hint="--format")
    loaded = load_workspace(chosen_workspace(workspace))
    prepared: JobResult | None = None
    with spark_session(loaded, chosen_master(master)) as spark:
        if prepare_first:
            with spark_progress(spark, stderr, "prepare + match"):
                prepared, result = pipeline.prepare_and_match(
                    loaded, spark, partner=partner, export_format=export_format, full=full
                )
        else:
            with spark_progress(spark, stderr, "match"):
                result = match_job.run(
                    loaded, spark, partner=partner, export_format=export_format, full=full
                )
    document = result.model_dump()
    if prepared is not None:
        document[prepare_job.JOB] = prepared.model_dump()

    def show() -> None:
        if prepared is not None:
            stderr.print(prepare_table(prepared))
        stderr.print(*match_tables(result))
        print_written(result)

    emit(document, as_json, show)
    exit_on_drift(
        {
            name: stats.get("drift", [])
            for name, stats in result.counts.items()
            if isinstance(stats, dict)
        }
    )


KINDS = ("email", "phone", "address", "maid", *TEXT_KINDS)
KindOption = Annotated[str, typer.Option("--kind", help=f"{', '.join(KINDS)}.")]


def hash_values(
    values: Annotated[list[str], typer.Argument(help="Values to normalize and hash.")],
    profile: Annotated[
        str, typer.Option("--profile", help="Normalization profile: NAME (newest) or NAME@vN.")
    ],
    kind: KindOption = "email",
    country: Annotated[
        str | None,
        typer.Option(
            "--country", help="ISO country of national phone numbers and of street words."
        ),
    ] = None,
    hash_type: Annotated[
        str | None,
        typer.Option("--hash", help="plaintext, md5, sha1 or sha256 (default: the profile's)."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="hex or base64 (default: the profile's).")
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace whose seeds.default_country applies to numbers without --country.",
        ),
    ] = None,
) -> None:
    """Normalize and hash values by hand with a profile's rules; one JSON object per value.

    Addresses are written on one line: "123 Main St, San Francisco, CA 94105" (a profile
    that hashes the street line alone, like amazon, takes just "123 Main St").
    No JVM is started: this runs the pure-Python twins of the Spark rules.

    Example: partnerkit hash --profile uid2 --kind email "Jane.Doe+news@Gmail.com"
    """
    if kind not in KINDS:
        raise typer.BadParameter(f"expected one of {', '.join(KINDS)}", param_hint="--kind")
    if hash_type not in (None, "plaintext", "md5", "sha1", "sha256"):
        raise typer.BadParameter("expected plaintext, md5, sha1 or sha256", param_hint="--hash")
    if encoding not in (None, "hex", "base64"):
        raise typer.BadParameter("expected hex or base64", param_hint="--encoding")
    if country is not None and country.strip().upper() not in phone_regions():
        raise typer.BadParameter(
            "expected an ISO 3166 two-letter country code with a telephone numbering plan "
            "(US, GB, DE ...)",
            param_hint="--country",
        )
    chosen_workspace_path = workspace or State.workspace
    default_country = (
        load_workspace(chosen_workspace_path).config.seeds.default_country
        if chosen_workspace_path is not None
        else None
    )
    chosen = get_profile(profile)
    platform_hash = chosen.hash if chosen.hashes(kind) else "plaintext"
    algorithm, text_form = hash_type or platform_hash, encoding or chosen.encoding
    for index, value in enumerate(values):
        result = reference.normalize_written(
            kind, chosen, value, country=country, default_country=default_country
        )
        digest = reference.hash_value(result.value, algorithm, text_form) if result.value else None
        document = {
            "index": index,
            "status": "ok" if result.value is not None else "rejected",
            "normalized": result.value,
            "hash": digest,
            "hash_type": algorithm if algorithm == "plaintext" else f"{algorithm}_{text_form}",
            "profile": chosen.label,
            "reason": result.reason,
        }
        sys.stdout.write(json.dumps(document) + "\n")


def profiles(as_json: JsonOption = False) -> None:
    """List every version of the normalization profiles: steps per identifier kind, default
    hash, and how each deliberately differs from the platform's own SDK.

    A partner declares NAME (the newest version) or NAME@vN (pinned).

    Example: partnerkit profiles --json
    """
    newest = {profile.label for profile in newest_profiles().values()}
    document = {
        label: {
            "name": profile.name,
            "version": profile.version,
            "newest": label in newest,
            "hash": profile.hash,
            "encoding": profile.encoding,
            "source": profile.source,
            "steps": {k: profile.describe_steps(k) for k in KINDS if profile.supports(k)},
            "differences": {d.name: d.text for d in profile.differences},
        }
        for label, profile in load_profiles().items()
    }

    def render() -> None:
        table = new_table(
            "normalization profiles",
            ("profile", "email", "phone", "address", "hash", "differs from the SDK"),
            numeric=(),
        )
        for label, info in document.items():
            steps = info["steps"]
            table.add_row(
                f"{label} (newest)" if info["newest"] else label,
                ", ".join(steps.get("email", [])) or "-",
                ", ".join(steps.get("phone", [])) or "-",
                ", ".join(steps.get("address", [])) or "-",
                f"{info['hash']} {info['encoding']}",
                ", ".join(info["differences"]) or "-",
            )
        stderr.print(table)

    emit({"profiles": document}, as_json, render)


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
    """Look up a few identifiers in a partner universe; prints the matches as JSON.

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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command()(prepare)
    app.command()(match)
    app.command(name="hash")(hash_values)
    app.command()(profiles)
    app.command()(resolve)
