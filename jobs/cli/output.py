"""Output: one JSON document on stdout or rich tables on stderr; the Spark session of a command."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import typer
from pyspark.logger import PySparkLogger
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from jobs.cli.exit_codes import EXIT_DRIFT
from jobs.cli.options import State, chosen_master, chosen_workspace, wants_json
from jobs.cli.progress import spark_progress
from jobs.config import (
    Workspace,
    load_workspace,
)
from jobs.runtime.logs import route_spark_logs, spark_log_path
from jobs.runtime.runs import WorkflowIdFilter
from jobs.runtime.spark import SparkSettings, build_spark

stderr = Console(stderr=True)
# Log lines pad to their console's width: they get a console of their own, which wraps at the
# terminal's width (or COLUMNS, or 80) even when tables are printed whole.
log_console = Console(stderr=True)
QUERY_CONTEXT_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
Outcome = TypeVar("Outcome")  # what the job or read returns
_lent_session: ContextVar[Any] = ContextVar("lent_session", default=None)


@contextmanager
def lend_session(spark: Any) -> Iterator[None]:
    """Run commands on an existing session instead of starting (and stopping) their own.

    The tests run most CLI commands in-process this way, on the one test session; the
    workspace's `spark` settings then do not apply.
    """
    token = _lent_session.set(spark)
    try:
        yield
    finally:
        _lent_session.reset(token)


# Off a terminal (a log, a pipe, CI), tables are as wide as their content, never cut to 80
# columns; no renderable here expands to the full width.
UNCUT_WIDTH = 100_000


def fit_output_width() -> None:
    """Tables fit a terminal; in a log or a pipe they are printed whole, whatever COLUMNS
    says (CI runners and test workers export COLUMNS=80)."""
    wide = not stderr.is_terminal
    # Both dimensions: with only a width set, rich still answers 80 columns when TERM=dumb.
    stderr.size = (UNCUT_WIDTH, 25) if wide else (None, None)  # type: ignore[assignment]


def configure_logging(debug: bool) -> None:
    """Our logs on stderr stamped with the run's workflow_id; py4j and pyspark quiet."""
    handler = RichHandler(console=log_console, show_path=False, rich_tracebacks=debug)
    # Libraries that set their own loggers' levels (Great Expectations logs at INFO) stay
    # quiet too: below a warning, nothing is shown without --debug.
    handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    handler.addFilter(WorkflowIdFilter())
    handler.setFormatter(logging.Formatter("[%(workflow_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for noisy in ("py4j", "pyspark"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.ERROR)
    # PySpark logs every SQL error it converts, message and all (values included), to stderr
    # from loggers of its own: silent unless --debug (the CLI reports the error itself).
    for name in QUERY_CONTEXT_LOGGERS:
        query_logger = PySparkLogger.getLogger(name)
        query_logger.handlers.clear()
        query_logger.addHandler(logging.StreamHandler() if debug else logging.NullHandler())


def emit(document: dict[str, Any], as_json: bool, render: Callable[[], None]) -> None:
    """Print exactly one JSON document on stdout, or the human rendering on stderr."""
    if wants_json(as_json):
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    else:
        render()


def exit_on_drift(warnings: dict[str, list[str]]) -> None:
    """Print each partner's drift warnings and exit 6 if there is any (after the output)."""
    found = {partner: lines for partner, lines in warnings.items() if lines}
    for partner, lines in found.items():
        for line in lines:
            stderr.print(f"[bold yellow]Warning:[/] partner {escape(partner)}: {escape(line)}")
    if found:
        raise typer.Exit(EXIT_DRIFT)


def print_written(result: Any, prefix: str = "export.") -> None:
    """Name every file a command wrote for the user (its `export.*` outputs)."""
    for key, path in result.outputs.items():
        if key.startswith(prefix):
            stderr.print(f"Wrote {escape(str(path))}", soft_wrap=True)


def within_limit(items: Sequence[Outcome], limit: int) -> tuple[list[Outcome], bool]:
    """The first `limit` of a list fetched with one extra, and whether there were more."""
    return list(items[:limit]), len(items) > limit


def print_cut_note(shown: int, limit: int, more: bool, what: str) -> None:
    """Say when a list stopped at its limit, and how to see more (never silently cut)."""
    if more:
        stderr.print(
            f"Showing the first {shown:,} {what}; there are more: run the same command with "
            f"`--limit {limit * 10}` to see up to {limit * 10:,}.",
            soft_wrap=True,
        )


NUMERIC_COLUMNS = ("rows", "value", "requested", "resolved", "rate", "seconds")


def new_table(
    title: str, columns: Sequence[str], numeric: Sequence[str] = NUMERIC_COLUMNS
) -> Table:
    """A left-titled rich table (at least as wide as its title, which never wraps); numeric
    columns right-aligned."""
    table = Table(title=title, title_justify="left", min_width=len(title))
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    return table


@contextmanager
def spark_session(workspace: Workspace, master: str | None) -> Iterator[Any]:
    """The CLI process builds the one session and is the one that stops it.

    Under `lend_session` (tests, a notebook) the lent session is used and left running.
    """
    State.spark_log = spark_log_path(workspace)
    lent = _lent_session.get()
    if lent is not None:
        yield lent
        return
    route_spark_logs(workspace, debug=State.debug)
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


def run_spark_job(
    workspace: Path | None,
    master: str | None,
    label: str,
    job: Callable[[Workspace, Any], Outcome],
) -> Outcome:
    """Load the workspace, start Spark, run one job or read with a progress display, stop Spark."""
    loaded = load_workspace(chosen_workspace(workspace))
    with spark_session(loaded, chosen_master(master)) as spark:
        with spark_progress(spark, stderr, label):
            return job(loaded, spark)
