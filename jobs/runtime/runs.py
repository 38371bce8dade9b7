"""Job runs: a workflow_id per run, recorded in the ledger and stamped on every log line."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from ingest.ledger import Ledger
from jobs.errors import PartnerkitError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Read by the logging filter, so every log line of a run carries the run's workflow_id.
current_workflow_id: ContextVar[str] = ContextVar("workflow_id", default="-")


class JobResult(BaseModel):
    """What a job reports back: its counts and where it wrote."""

    model_config = ConfigDict(frozen=True)

    job: str
    workflow_id: str
    status: str
    seconds: float
    counts: dict[str, Any]
    outputs: dict[str, str]


@dataclass
class RunContext:
    """The open run a job fills in with counts and outputs."""

    job: str
    workflow_id: str
    ledger: Ledger
    started: float = field(default_factory=time.perf_counter)
    counts: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def result(self) -> JobResult:
        return JobResult(
            job=self.job,
            workflow_id=self.workflow_id,
            status="succeeded",
            seconds=round(time.perf_counter() - self.started, 3),
            counts=dict(self.counts),
            outputs=dict(self.outputs),
        )


def describe_failure(error: BaseException) -> str:
    """Text for the ledger: our own messages (which never hold row values), else the type only.

    Spark's exception text can quote row values (ANSI cast errors do), so it is not stored.
    """
    if isinstance(error, PartnerkitError | ValueError | LookupError | OSError):
        return f"{type(error).__name__}: {error}"
    return f"{type(error).__name__} (details in the job's log with --debug)"


@contextmanager
def record_run(ledger: Ledger, job: str) -> Iterator[RunContext]:
    """Open a ledger run for a job; it ends as succeeded or failed with the run's counts."""
    run = RunContext(job=job, workflow_id=str(uuid.uuid4()), ledger=ledger)
    token = current_workflow_id.set(run.workflow_id)
    ledger.start_run(run.workflow_id, job)
    logger.info("started %s", job)
    try:
        yield run
    except BaseException as error:
        ledger.finish_run(
            run.workflow_id, status="failed", counts=run.counts, error=describe_failure(error)
        )
        logger.info("%s failed", job)
        raise
    else:
        ledger.finish_run(run.workflow_id, status="succeeded", counts=run.counts)
        logger.info("finished %s", job)
    finally:
        current_workflow_id.reset(token)


def submit_in_context(
    pool: Executor, function: Callable[..., T], /, *args: Any, **kwargs: Any
) -> Future[T]:
    """Run `function` on `pool` in a copy of this thread's context, so the log lines of work
    moved to another thread still carry the current run's workflow_id."""
    return pool.submit(copy_context().run, function, *args, **kwargs)


class WorkflowIdFilter(logging.Filter):
    """Stamp the current run's workflow_id on each log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.workflow_id = current_workflow_id.get()
        return True
