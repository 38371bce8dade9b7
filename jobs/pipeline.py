"""Runs that chain several jobs: the demo, prepare-then-match, a lookalike the ICP suggests.

The only module besides the CLI that imports job modules: a job never calls another job.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from jobs import (
    activate,
    compare,
    enrich,
    forget,
    generate,
    icp,
    lookalike,
    match,
    optout_ingest,
    segments,
    steward,
)
from jobs import partner_ingest as ingest
from jobs import seed_prepare as prepare
from jobs.config import PartnerConfig, Workspace
from jobs.demo.synthetic import GeneratorSettings
from jobs.errors import WorkspaceError
from jobs.runtime.runs import Handoff, JobResult, reading_from, submit_in_context

logger = logging.getLogger(__name__)

DEMO_BUCKET = "partnerkit-demo"
DEMO_PARTNER = "acme"
DEMO_PROSPECTS = "icp_precision"
DEMO_ACTIVATIONS = (
    ("high_earning_homeowners", "web_personalization"),  # allowed: files + manifest on S3
    ("high_earning_homeowners", "data_broker"),  # blocked: 3PD data to a third party
)
# Activated again after the delta: its destination syncs incrementally.
DEMO_INCREMENTAL = DEMO_ACTIVATIONS[0]
# Refused: the destination takes no audience under its min_audience_size.
DEMO_TOO_SMALL = ("loyal_gold", "ctv_partner")
SUGGESTION_MODES = ("precision", "reach", "hybrid")

Stage = Callable[[str], AbstractContextManager[Any]]


def no_display(_name: str) -> AbstractContextManager[Any]:
    return nullcontext()


def prepare_and_match(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: str | None = None,
    export_format: str | None = None,
    full: bool = False,
) -> tuple[JobResult, JobResult]:
    """Seed prepare, then match, in one session; the prepare result and the match result.

    Matching needs only `seed_identifiers`, so it starts as soon as those are written, while
    prepare's `seeds` table and rows quarantine are still being written on its thread: those
    writes fill the cores that the match's planning and broadcast would leave idle.
    """
    identifiers_written = Handoff()
    with ThreadPoolExecutor(1) as pool:
        prepared = submit_in_context(
            pool,
            prepare.run,
            workspace,
            spark,
            partner=partner,
            identifiers_written=identifiers_written,
        )
        while not identifiers_written.ready.wait(0.2):
            if prepared.done():
                prepared.result()  # it ended before writing them: raise its error here
        assert identifiers_written.run is not None
        with reading_from(identifiers_written.run):
            matched = match.run(
                workspace, spark, partner=partner, export_format=export_format, full=full
            )
        return prepared.result(), matched


@dataclass
class SuggestedLookalike:
    """A lookalike from an ICP suggestion, and the size every suggested mode would have."""

    result: JobResult
    sizes: dict[str, dict[str, Any]] = field(default_factory=dict)


def suggested_lookalike(
    workspace: Workspace,
    spark: SparkSession,
    *,
    partner: str,
    mode: str,
    exclude_customers: bool = False,
    near: tuple[float, float] | None = None,
    radius: tuple[float, str] | None = None,
    save: str | None = None,
) -> SuggestedLookalike:
    """Run the ICP, size each expression it suggests, then build the one of `mode`.

    A refused ICP (a policy forbids the data science) is returned as the result itself.
    """
    analysis = icp.run(workspace, spark, partner=partner)
    if not analysis.counts["allowed"]:
        return SuggestedLookalike(analysis)
    sizes: dict[str, dict[str, Any]] = {}
    for name, candidate in analysis.counts.get("suggestions", {}).items():
        sized = lookalike.run(
            workspace,
            spark,
            partner=partner,
            expression=candidate,
            exclude_customers=exclude_customers,
        )
        sizes[name] = {"expression": candidate, "total": sized.counts.get("total")}
    if mode not in sizes:
        raise WorkspaceError(
            f"--suggest {mode}",
            "an ICP with enough members for that approach (try a lower --min-support)",
        )
    result = lookalike.run(
        workspace,
        spark,
        partner=partner,
        expression=sizes[mode]["expression"],
        exclude_customers=exclude_customers,
        near=near,
        radius=radius,
        save=save,
    )
    return SuggestedLookalike(result, sizes)


@dataclass
class DemoRun:
    results: list[JobResult]
    ground_truth: dict[str, Any]
    first_month: int  # results[:first_month]: the first delivery; then its delta
    privacy_start: int  # results[privacy_start:]: opt-outs, an erasure, a size refusal

    @property
    def month_two(self) -> list[JobResult]:
        return self.results[self.first_month : self.privacy_start]

    @property
    def privacy(self) -> list[JobResult]:
        return self.results[self.privacy_start :]


def run_demo(
    workspace: Workspace,
    spark: SparkSession,
    *,
    settings: GeneratorSettings,
    stage: Stage = no_display,
) -> DemoRun:
    """Every job once on freshly generated data; then the partner's first delta, matched,
    enriched and activated incrementally; the matches scored on the answer key as of it.

    `stage(name)` wraps each job (the CLI shows a progress display there).
    """
    if not settings.deliveries:
        settings = settings.model_copy(update={"deliveries": 1})
    results: list[JobResult] = []
    stages: list[tuple[str, Callable[[], JobResult]]] = [
        ("generate", lambda: generate.run(workspace, spark, settings=settings)),
        *[
            (f"ingest {p.name}", lambda p=p: ingest_demo_partner(workspace, spark, p))
            for p in workspace.config.partners
        ],
        ("prepare", lambda: prepare.run(workspace, spark)),
        ("match", lambda: match.run(workspace, spark)),
        ("enrich", lambda: enrich.run(workspace, spark, validate_rows=0)),
        ("check", lambda: steward.run(workspace)),
        ("compare", lambda: compare.run(workspace, spark)),
        ("segments", lambda: segments.run(workspace, spark)),
        *[
            (f"activate {s} -> {d}", lambda s=s, d=d: demo_activation(workspace, spark, s, d))
            for s, d in DEMO_ACTIVATIONS
        ],
        ("icp", lambda: icp.run(workspace, spark, partner=DEMO_PARTNER)),
        ("lookalike", lambda: demo_lookalike(workspace, spark, results[-1])),
        (
            "activate prospects",
            lambda: activate.run_prospects(
                workspace, spark, prospects=DEMO_PROSPECTS, destination="partner_id_audience"
            ),
        ),
    ]
    month_two: list[tuple[str, Callable[[], JobResult]]] = [
        (f"ingest {DEMO_PARTNER} delta", lambda: ingest_demo_delta(workspace, spark)),
        ("match (incremental)", lambda: match.run(workspace, spark)),
        ("enrich (incremental)", lambda: enrich.run(workspace, spark, validate_rows=0)),
        (
            f"activate {DEMO_INCREMENTAL[0]} -> {DEMO_INCREMENTAL[1]} (incremental)",
            lambda: demo_activation(workspace, spark, *DEMO_INCREMENTAL),
        ),
    ]
    privacy: list[tuple[str, Callable[[], JobResult]]] = [
        (
            f"opt-outs of {DEMO_PARTNER}",
            lambda: optout_ingest.run(workspace, spark, partner=DEMO_PARTNER),
        ),
        (
            f"activate {DEMO_INCREMENTAL[0]} -> {DEMO_INCREMENTAL[1]} (after the opt-outs)",
            lambda: demo_activation(workspace, spark, *DEMO_INCREMENTAL),
        ),
        ("forget one customer", lambda: demo_forget(workspace, spark)),
        (
            f"activate {DEMO_TOO_SMALL[0]} -> {DEMO_TOO_SMALL[1]} (too small)",
            lambda: activate.run(
                workspace, spark, segment=DEMO_TOO_SMALL[0], destination=DEMO_TOO_SMALL[1]
            ),
        ),
    ]
    for name, job in [*stages, *month_two]:
        with stage(name):
            results.append(job())
    # scored before the privacy stages, which take people out on purpose
    truth = generate.evaluate(workspace, spark, truth_file=generate.delta_truth_file(1))
    for name, job in privacy:
        with stage(name):
            results.append(job())
    return DemoRun(
        results, truth, first_month=len(stages), privacy_start=len(stages) + len(month_two)
    )


def demo_forget(workspace: Workspace, spark: SparkSession) -> JobResult:
    """Erase the seed file's last customer (with the local S3 up, so the receipt can check
    the exports sent there)."""
    with Path(workspace.resolve(workspace.config.seeds.source.path)).open(
        encoding="utf-8", newline=""
    ) as handle:
        *_, last = csv.DictReader(handle)
    profile_id = last[workspace.config.seeds.columns.profile_id]
    with demo_s3(workspace, DEMO_INCREMENTAL[1]):
        return forget.run(workspace, spark, profile_ids=[profile_id])


def ingest_demo_delta(workspace: Workspace, spark: SparkSession) -> JobResult:
    """The generated first delta of the demo partner, folded into its universe."""
    folder = workspace.resolve(generate.delta_folder(1))
    return ingest.run(workspace, spark, partner=DEMO_PARTNER, sources=[folder], kind="delta")


def demo_lookalike(workspace: Workspace, spark: SparkSession, icp_result: JobResult) -> JobResult:
    """The ICP's precision expression over the universe, customers excluded, saved."""
    expression = icp_result.counts.get("suggestions", {}).get("precision")
    if expression is None:  # too few members for a 3-attribute cluster: use the top attribute
        top = icp_result.counts["top_lift"][0]
        expression = top["cluster_hash"]
    return lookalike.run(
        workspace,
        spark,
        partner=DEMO_PARTNER,
        expression=expression,
        exclude_customers=True,
        save=DEMO_PROSPECTS,
    )


def demo_activation(
    workspace: Workspace, spark: SparkSession, segment: str, destination: str
) -> JobResult:
    """One demo activation; an S3 destination goes to a local moto server on 127.0.0.1."""
    from jobs.runtime.local_s3 import moto_available

    target = workspace.destination(destination)
    if target.type != "s3":
        return activate.run(workspace, spark, segment=segment, destination=destination)
    if not moto_available():
        logger.warning("moto is not installed: %s is evaluated but not written", destination)
        return activate.run(
            workspace, spark, segment=segment, destination=destination, dry_run=True
        )
    with demo_s3(workspace, destination):
        return activate.run(workspace, spark, segment=segment, destination=destination)


@contextmanager
def demo_s3(workspace: Workspace, destination: str) -> Iterator[None]:
    """The local moto server on 127.0.0.1 with the destination's bucket, when moto is there."""
    from jobs.runtime.local_s3 import local_s3_server, moto_available

    if not moto_available():
        yield
        return
    from ingest.sources import ensure_bucket, split_s3_uri

    target = workspace.destination(destination)
    with local_s3_server():
        ensure_bucket(split_s3_uri(target.path.rstrip("/") + "/")[0])
        yield


def ingest_demo_partner(
    workspace: Workspace, spark: SparkSession, partner: PartnerConfig
) -> JobResult:
    """Upload a partner's generated files to a local S3 (moto) and ingest them from s3://.

    Without moto installed (`pip install 'partnerkit[demo]'`) the files are ingested from disk.
    """
    from ingest.sources import ensure_bucket, list_local, upload_files
    from jobs.runtime.local_s3 import local_s3_server, moto_available

    local = workspace.resolve(partner.source.path)
    if not moto_available():
        logger.warning("moto is not installed: ingesting the demo files from disk, not S3")
        return ingest.run(workspace, spark, partner=partner.name)
    with local_s3_server():
        ensure_bucket(DEMO_BUCKET)
        files = [Path(f.uri) for f in list_local(local)]
        upload_files(files, DEMO_BUCKET, partner.name)
        source = f"s3://{DEMO_BUCKET}/{partner.name}/"
        return ingest.run(workspace, spark, partner=partner.name, sources=[source])
