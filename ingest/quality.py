"""The batch gate: a Great Expectations suite generated from the mapping, run on accepted rows.

Row checks (partner_files.py) decide which rows are quarantined; this gate decides whether the
batch as a whole may be published: at most a share of rows quarantined, identifier columns
filled often enough, plus any expectation the user adds in the config.
GX also renders the result as Data Docs HTML in the workspace's reports folder.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateSettings:
    """Batch-level thresholds; `expectations` are extra GX expectations ({type, kwargs})."""

    max_quarantined_share: float = 0.05
    min_non_null: Mapping[str, float] = field(default_factory=dict)
    expectations: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class GateResult:
    success: bool
    failures: list[str]
    evaluated: int
    docs_index: str | None
    validation_page: str | None = None  # this batch's page in the Data Docs site
    # (expectation, success, column) for each expectation evaluated
    assertions: tuple[tuple[str, bool, str | None], ...] = ()


def _expectation_class(name: str) -> type:
    """`expect_column_values_to_match_regex` -> gxe.ExpectColumnValuesToMatchRegex."""
    import great_expectations.expectations as gxe

    class_name = "".join(part.capitalize() for part in name.split("_"))
    found = getattr(gxe, class_name, None)
    if found is None:
        raise ValueError(f"unknown Great Expectations expectation {name!r}")
    return found


def build_expectations(
    *, settings: GateSettings, input_rows: int, allowed_values: Mapping[str, Sequence[str]]
) -> list[Any]:
    """The suite's expectations, derived from the mapping and the thresholds."""
    import great_expectations.expectations as gxe

    least = math.ceil(input_rows * (1 - settings.max_quarantined_share))
    expectations: list[Any] = [
        gxe.ExpectTableRowCountToBeBetween(min_value=least, max_value=input_rows),
        gxe.ExpectColumnValuesToNotBeNull(column="partner_id"),
    ]
    for column, share in settings.min_non_null.items():
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=share))
    for column, values in allowed_values.items():
        expectations.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)))
    for extra in settings.expectations:
        expectations.append(_expectation_class(str(extra["type"]))(**dict(extra.get("kwargs", {}))))
    return expectations


def _describe(result: Any) -> str:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "value_set")}
    observed = result.result.get("observed_value", result.result.get("unexpected_percent"))
    where = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{config.type}({where}) observed {observed}"


# What `run_gate` imports: ~3 s in a fresh process, most of the gate's time on a small batch.
GATE_MODULES = ("great_expectations", "great_expectations.data_context.types.base")


def import_gate_modules_beside() -> threading.Thread:
    """Import Great Expectations on a thread of its own, started before the rows are read and
    checked: the main thread then mostly waits on the JVM, so the import costs no wall time."""
    thread = threading.Thread(target=_import_gate_modules, name="partnerkit-gate-import")
    thread.start()
    return thread


def _import_gate_modules() -> None:
    try:
        for module in GATE_MODULES:
            importlib.import_module(module)
    except Exception as error:  # noqa: BLE001 (the gate imports them again and reports that)
        logger.debug("importing the gate's modules early failed: %s", error)


def run_gate(
    accepted: DataFrame,
    *,
    name: str,
    settings: GateSettings,
    input_rows: int,
    allowed_values: Mapping[str, Sequence[str]],
    docs_dir: Path | None,
) -> GateResult:
    """Validate the accepted rows of one batch; build Data Docs into `docs_dir` if given."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # GX draws tqdm bars on stderr; partnerkit has its own progress display.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(
            site_name="partnerkit",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    # persist=False: GX would otherwise cache the whole batch in memory to compute a few
    # aggregates (measured: 40 s and +1.6 GB peak on 5M rows); Parquet scans are cheap.
    source = context.data_sources.add_spark(name="partnerkit", persist=False)
    asset = source.add_dataframe_asset(name=name)
    batch_definition = asset.add_batch_definition_whole_dataframe("batch")
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_gate"))
    expectations = build_expectations(
        settings=settings, input_rows=input_rows, allowed_values=allowed_values
    )
    for expectation in expectations:
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch_definition, suite=suite, name=f"{name}_validation")
    )
    # Only our site: the ephemeral context's default site would be built too, in a new
    # temporary folder (about 4 MB) on every run, and never removed.
    actions = (
        [gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["partnerkit"])]
        if docs_dir
        else []
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{name}_checkpoint",
            validation_definitions=[validation],
            actions=actions,
            result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
        )
    )
    outcome = checkpoint.run(batch_parameters={"dataframe": accepted})
    results = [r for run in outcome.run_results.values() for r in run.results]
    failures = [_describe(r) for r in results if not r.success]
    index = docs_dir / "index.html" if docs_dir else None
    return GateResult(
        success=bool(outcome.success),
        failures=failures,
        evaluated=len(results),
        docs_index=str(index) if index and index.exists() else None,
        validation_page=_validation_page(docs_dir, suite.name) if docs_dir else None,
        assertions=tuple(
            (r.expectation_config.type, bool(r.success), r.expectation_config.kwargs.get("column"))
            for r in results
        ),
    )


def _validation_page(docs_dir: Path, suite: str) -> str | None:
    """The newest validation page of the suite (`validations/<suite>/<run>/<time>/*.html`)."""
    pages = sorted(
        (docs_dir / "validations" / suite).rglob("*.html"), key=lambda p: p.stat().st_mtime
    )
    return str(pages[-1]) if pages else None
