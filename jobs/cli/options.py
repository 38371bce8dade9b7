"""Options shared by the commands, and those given before the command (`partnerkit --json runs`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from jobs.runtime.spark import MASTER_ENV


class State:
    """Options given before the command (`partnerkit --json runs`); reset on every run_cli."""

    debug = False
    as_json = False
    workspace: Path | None = None
    master: str | None = None
    spark_log: Path | None = None  # the workspace's Spark log, once a command has one

    @classmethod
    def reset(cls) -> None:
        cls.debug = os.environ.get("PARTNERKIT_DEBUG", "") not in ("", "0", "false")
        cls.as_json, cls.workspace, cls.master = False, None, None
        cls.spark_log = None


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


def chosen_workspace(value: Path | None, default: Path = Path(".")) -> Path:
    """The command's --workspace, else the one given before the command, else the default."""
    return value or State.workspace or default


def chosen_master(value: str | None) -> str | None:
    return value or State.master


def wants_json(value: bool) -> bool:
    return value or State.as_json


SeedsOption = Annotated[int, typer.Option("--seeds", help="Number of 1P seed profiles.")]


UniverseOption = Annotated[int, typer.Option("--universe", help="Number of partner persons.")]


RandomSeedOption = Annotated[
    int, typer.Option("--seed", help="Random seed; same seed, same files.")
]


PartnerOption = Annotated[
    str | None, typer.Option("--partner", help="Only this partner (default: every partner).")
]


OptionalWorkspace = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="PARTNERKIT_WORKSPACE",
        help="Workspace whose labels, actions and policies are added (optional).",
    ),
]
