"""The vacuum job: remove table versions replaced longer ago than the workspace keeps them.

It is a writer (it takes the workspace's writer lock), so it also finishes the recovery of a
killed run before it looks. Current versions and commit records are never removed.
"""

from __future__ import annotations

from datetime import datetime

from jobs.config import Workspace
from jobs.runtime.runs import JobResult, open_run
from jobs.warehouse.commits import Store, expired_versions

JOB = "vacuum"


def run(
    workspace: Workspace,
    spark: object = None,
    *,
    keep_days: float | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> JobResult:
    """Remove (or, with `dry_run`, list) versions replaced more than `keep_days` ago."""
    days = workspace.config.commits.keep_versions_days if keep_days is None else keep_days
    with open_run(workspace, JOB, spark=spark) as job:
        store = Store(workspace.warehouse, spark)  # type: ignore[arg-type]
        expired = expired_versions(store, keep_days=days, now=now)
        if not dry_run:
            for folder in expired:
                store.remove(folder)
        job.counts.update(keep_days=days, dry_run=dry_run, versions=len(expired))
        job.counts["folders"] = expired
        job.outputs["warehouse"] = workspace.warehouse
    return job.result()
