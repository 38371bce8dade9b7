"""The `partnerkit` command: the typer app, its global options, and main() owning exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from rich.markup import escape

from governance.errors import GovernanceError
from ingest.errors import IngestError
from jobs.cli.commands import audiences, identity, ingest, people, policy, workspace
from jobs.cli.exit_codes import EXIT_ERROR, EXIT_OK, exit_code_for
from jobs.cli.options import JsonOption, MasterOption, State, WorkspaceOption
from jobs.cli.output import configure_logging, fit_output_width, stderr
from jobs.errors import PartnerkitError
from jobs.runtime.logs import record_spark_failure
from schemas.errors import SchemaError

app = typer.Typer(
    name="partnerkit",
    help="Enrich known customers with a data partner's attributes, under governance.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
for commands in (workspace, identity, ingest, people, policy, audiences):
    commands.register(app)


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
    fit_output_width()


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
        # One line however long: a terminal wraps it, a log or a pipe keeps it whole.
        stderr.print(f"[bold red]Error:[/] {escape(str(error))}", soft_wrap=True)
        return exit_code_for(error)
    except KeyboardInterrupt:
        stderr.print("[bold red]Interrupted.[/]")
        return 130
    except (PySparkException, Py4JError) as error:
        # Spark's text can quote row values: one sentence here, the scrubbed detail in the log.
        if State.debug:
            raise
        sentence = escape(record_spark_failure(State.spark_log, error))
        stderr.print(f"[bold red]Error:[/] {sentence}", soft_wrap=True)
        return EXIT_ERROR
    except Exception as error:
        if State.debug:
            raise
        stderr.print(
            f"[bold red]Error:[/] unexpected {type(error).__name__}; "
            "run again with --debug for the full traceback.",
            soft_wrap=True,
        )
        return EXIT_ERROR
    return EXIT_OK


def main() -> None:
    sys.exit(run_cli())
