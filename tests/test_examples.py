"""The examples in docs/examples/: the orchestrator files parse, name real commands and options,
and the shell pipeline stops on the documented exit codes; the notebook runs (its own asserts
check what it shows) on the shared SparkSession."""

from __future__ import annotations

import ast
import os
import re
import runpy
import shlex
import subprocess
from pathlib import Path

import pytest
import typer
from pyspark.sql import SparkSession

import jobs
from jobs.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
WORKSPACE = ["--workspace", "ws"]


def parse_command(arguments: list[str]) -> None:
    """Parse (not run) `partnerkit ARGUMENTS` as the CLI would: unknown commands or options,
    or missing values, raise click's usage errors."""
    group = typer.main.get_command(app)
    name, *rest = arguments
    command = group.get_command(group.context_class(group), name)  # type: ignore[attr-defined]
    assert command is not None, f"no command {name!r}"
    command.make_context(name, rest)


def dag_task_arguments() -> list[list[str]]:
    """The arguments of each `partnerkit_task(...)` call in the Airflow example."""
    tree = ast.parse((EXAMPLES / "airflow_dag.py").read_text(encoding="utf-8"))
    constants = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
    }
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "partnerkit_task"
    ]
    return [
        [a.value if isinstance(a, ast.Constant) else constants[a.id] for a in call.args[1:]]
        for call in calls
    ]


def test_the_airflow_dag_runs_real_commands_through_the_spark_submit_entry_point() -> None:
    tasks = dag_task_arguments()
    assert [t[0] for t in tasks] == ["check", "ingest", "match", "enrich", "segment", "activate"]
    for arguments in tasks:
        parse_command([*arguments, *WORKSPACE, "--json"])
    assert (Path(jobs.__file__).parent / "__main__.py").is_file()


def shell_steps() -> list[list[str]]:
    script = (EXAMPLES / "monthly_pipeline.sh").read_text(encoding="utf-8")
    lines = re.findall(r"^step (.+?)(?:\s+#.*)?$", script, flags=re.M)
    return [shlex.split(line.replace('"$PARTNER"', "acme")) for line in lines]


def test_the_shell_pipeline_is_valid_bash_with_real_commands() -> None:
    subprocess.run(["bash", "-n", str(EXAMPLES / "monthly_pipeline.sh")], check=True)
    steps = shell_steps()
    assert len(steps) == 6
    for arguments in steps:
        parse_command([*arguments, *WORKSPACE])


def run_pipeline(tmp_path: Path, exits: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """The shell example against a stand-in partnerkit whose `case` lines are `exits`;
    returns the run and the commands it called, in order."""
    calls = tmp_path / "calls"
    fake = tmp_path / "partnerkit"
    fake.write_text(f'#!/usr/bin/env bash\necho "$1" >> {calls}\ncase "$1" in {exits} esac\n')
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", str(EXAMPLES / "monthly_pipeline.sh"), str(tmp_path / "ws")],
        env={**os.environ, "PARTNERKIT": str(fake)},
        capture_output=True,
        text=True,
        check=False,
    )
    return done, calls.read_text().split()


@pytest.mark.parametrize(("failing", "code", "ran"), [("ingest", 4, 2), ("check", 5, 1)])
def test_the_shell_pipeline_stops_on_the_documented_exit_codes(
    tmp_path: Path, failing: str, code: int, ran: int
) -> None:
    """A stand-in partnerkit that fails one command: the script exits with its code and runs
    nothing after it."""
    done, called = run_pipeline(tmp_path, f"{failing}) exit {code};;")
    assert done.returncode == code, done.stdout + done.stderr
    assert len(called) == ran


def test_the_shell_pipeline_goes_on_after_drift(tmp_path: Path) -> None:
    """Drift (6) means published: reported, and the pipeline goes on."""
    done, called = run_pipeline(tmp_path, "match) exit 6;;")
    assert done.returncode == 0 and "drift" in done.stdout
    assert called == ["check", "ingest", "match", "enrich", "segment", "activate"]


def test_the_notebook_example_runs_on_an_existing_session(
    spark: SparkSession, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = runpy.run_path(str(EXAMPLES / "notebook_match.py"))
    assert namespace["spark"] is spark  # it joined the session it was given, as in a notebook
    printed = capsys.readouterr().out
    assert "'resolved': 3" in printed and "policy no_third_party_resale" in printed
