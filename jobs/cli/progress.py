"""Spark stage progress on stderr, read from the status tracker instead of Spark's console bar."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

POLL_SECONDS = 0.5


def _poll_stages(spark: SparkSession, progress: Progress, task: int, stop: threading.Event) -> None:
    tracker = spark.sparkContext.statusTracker()
    while not stop.wait(POLL_SECONDS):
        stages = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
        stages = [s for s in stages if s is not None]
        if not stages:
            continue
        total = sum(s.numTasks for s in stages)
        done = sum(s.numCompletedTasks for s in stages)
        names = ", ".join(sorted({s.name.split(" at ")[0] for s in stages}))
        progress.update(task, total=total, completed=done, stage=f"stage {names}")


@contextmanager
def spark_progress(spark: SparkSession, console: Console, description: str) -> Iterator[None]:
    """Show a live bar of the running Spark stages while the block runs (terminals only)."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    stop = threading.Event()
    with progress:
        task = progress.add_task(description, total=None, stage="")
        poller = threading.Thread(
            target=_poll_stages, args=(spark, progress, task, stop), daemon=True
        )
        poller.start()
        try:
            yield
        finally:
            stop.set()
            poller.join(timeout=2)
