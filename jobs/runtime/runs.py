"""Job runs: a workflow_id per run, recorded in the ledger and stamped on every log line.

`open_run` is how a job runs: it takes the workspace's writer lock (for jobs that write),
cleans up after runs that were killed, opens the ledger run, and on success publishes the
run's table versions in one commit (see `jobs.warehouse.commits`) before saying `succeeded`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from ingest.ledger import Ledger, utc_now
from jobs.config import Workspace
from jobs.errors import OutsideWorkspaceError, PartnerkitError
from jobs.runtime.locks import is_alive, live_mark, writer_lock
from jobs.runtime.run_events import DatasetNote, RunEvents, merged
from jobs.warehouse.commits import (
    PendingCommit,
    Store,
    committed_workflows,
    read_manifest,
    remove_uncommitted_records,
)
from jobs.warehouse.paths import remove, writable_roots

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Read by the logging filter, so every log line of a run carries the run's workflow_id.
current_workflow_id: ContextVar[str] = ContextVar("workflow_id", default="-")
# Environment variable naming a fault point at which the process kills itself (tests only).
FAULT_POINT_VARIABLE = "PARTNERKIT_FAULT_POINT"


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
    commit: PendingCommit | None = None
    upstream: list[RunContext] = field(default_factory=list)
    finished: threading.Event = field(default_factory=threading.Event)
    succeeded: bool = False
    # What the run read and wrote, for its lineage events.
    read_notes: list[DatasetNote] = field(default_factory=list)
    written_notes: list[DatasetNote] = field(default_factory=list)
    # Run once the commit is published, still under the writer lock (erasure purges the
    # versions the commit replaced); a failure is logged and counted, the commit stands.
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def claim(self, path: str | os.PathLike[str], *, kept_if_committed: bool = False) -> str:
        """Record a folder or file this run is about to create outside a committed version
        (staging, scratch), so the next writer removes it if this process dies; with
        `kept_if_committed`, only if it dies before its commit (a report of what it did)."""
        text = str(path)
        self.ledger.claim_path(self.workflow_id, text, kept_if_committed=kept_if_committed)
        return text

    def noted_read(self, note: DatasetNote) -> None:
        """Record a dataset this run read (a committed table, a delivery, the seed file)."""
        self.read_notes.append(note)

    def noted_write(self, note: DatasetNote) -> None:
        """Record a dataset this run wrote (a table version it stages, an export)."""
        self.written_notes.append(note)

    def lineage(self) -> tuple[list[DatasetNote], list[DatasetNote]]:
        """Inputs and outputs: what was read, and what this run's commit and exports hold."""
        written = merged(self.written_notes)
        outputs = [n for n in written if n.unit is None]
        if self.commit is not None:
            by_unit = {n.unit: n for n in written if n.unit is not None}
            for unit, entry in self.commit.staged.items():
                note = by_unit.get(unit) or DatasetNote(uri=self.commit.unit_location(unit))
                outputs.append(replace(note, unit=unit, version=",".join(entry.folders)))
        return merged(self.read_notes), outputs

    def tables(self) -> PendingCommit:
        """This run's pending commit (jobs that write tables run with `writes=True`)."""
        if self.commit is None:
            raise RuntimeError(f"{self.job} was opened without writes=True")
        return self.commit

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
def record_run(ledger: Ledger, job: str, *, workflow_id: str | None = None) -> Iterator[RunContext]:
    """Open a ledger run for a job; it ends as succeeded or failed with the run's counts."""
    run = RunContext(job=job, workflow_id=workflow_id or str(uuid.uuid4()), ledger=ledger)
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


_current_run: ContextVar[RunContext | None] = ContextVar("current_run", default=None)
_upstream: ContextVar[tuple[RunContext, ...]] = ContextVar("upstream", default=())


@contextmanager
def reading_from(*runs: RunContext) -> Iterator[None]:
    """Runs opened inside read what `runs` staged and commit only after they committed.

    This is how `match --prepare` matches on seed identifiers its prepare has written but
    not committed yet; if the prepare fails, the match commits nothing either.
    """
    token = _upstream.set(runs)
    try:
        yield
    finally:
        _upstream.reset(token)


@dataclass
class Handoff:
    """A run telling another thread that the tables it needs are written (not committed)."""

    ready: threading.Event = field(default_factory=threading.Event)
    run: RunContext | None = None

    def give(self, run: RunContext) -> None:
        self.run = run
        self.ready.set()


def current_run() -> RunContext | None:
    """The run this code is part of, if any (file writers claim their staging through it)."""
    return _current_run.get()


def fault_point(name: str) -> None:
    """Kill this process here when PARTNERKIT_FAULT_POINT names this point (fault tests).

    A point is `<name>` or `<name>#<n>` for its n-th pass (1-based). SIGKILL, not an
    exception: nothing in this process gets to clean up, as when a machine dies.
    """
    wanted = os.environ.get(FAULT_POINT_VARIABLE)
    if not wanted:
        return
    point, _, nth = wanted.partition("#")
    if point != name:
        return
    passes = _fault_passes[name] = _fault_passes.get(name, 0) + 1
    if passes == int(nth or 1):
        import signal

        logger.warning("fault point %s: killing this process", wanted)
        os.kill(os.getpid(), signal.SIGKILL)


_fault_passes: dict[str, int] = {}


def _runs_folder(workspace: Workspace) -> Path:
    return workspace.ledger_path.parent / f".{workspace.ledger_path.name}.runs"


def recover_abandoned_runs(workspace: Workspace, ledger: Ledger, spark: Any = None) -> list[str]:
    """Mark runs whose process died `abandoned` and remove what they left (writer lock held).

    A dead run's claimed paths that no commit names are removed; a run that died after its
    commit was published is recorded as succeeded, since its tables are the current ones.
    """
    store = Store(workspace.warehouse, spark)
    remove_uncommitted_records(store)
    committed = committed_workflows(store)
    live = live_folders(workspace, store, spark)
    recovered = []
    for run in ledger.running_runs():
        if is_alive(_runs_folder(workspace), run.workflow_id):
            continue
        removed = remove_leftovers(
            workspace, store, ledger, run.workflow_id, live, committed=run.workflow_id in committed
        )
        if run.workflow_id in committed:
            ledger.finish_run(
                run.workflow_id,
                status="succeeded",
                counts=run.counts,
                error="the process died after its commit; its tables are current",
            )
            ledger.publish_batches(run.workflow_id)
        else:
            ledger.abandon_run(run.workflow_id, left={"removed": removed})
        ledger.release_paths(run.workflow_id)
        logger.warning(
            "run %s (%s) died %s; removed %d leftovers",
            run.workflow_id,
            run.job,
            "after its commit" if run.workflow_id in committed else "before its commit",
            len(removed),
        )
        recovered.append(run.workflow_id)
    return recovered


def live_folders(workspace: Workspace, store: Store, spark: Any) -> set[str]:
    """Every version folder the current commit names, spelled as claims spell them."""
    return {
        (str(store.path(f"{unit}/{f}")) if store.local else store.uri(f"{unit}/{f}"))
        for unit, entry in read_manifest(workspace.warehouse, spark).tables.items()
        for f in entry.folders
    }


def remove_leftovers(
    workspace: Workspace,
    store: Store,
    ledger: Ledger,
    workflow_id: str,
    live: set[str],
    *,
    committed: bool,
) -> list[str]:
    """Remove a run's claimed paths except the `live` ones (a commit published them) and,
    when it committed, those its commit keeps."""
    claimed = ledger.claimed_paths(workflow_id, committed=committed)
    removed = [p for p in claimed if p not in live]
    for path in removed:
        _remove_claimed(workspace, store, path)
    return removed


def _under_s3_destination(workspace: Workspace, path: str) -> bool:
    """Whether a claimed s3:// path lies under a configured S3 destination (export staging)."""
    roots = [d.path.rstrip("/") + "/" for d in workspace.config.destinations if d.type == "s3"]
    return any(path.startswith(root) for root in roots)


def _remove_claimed(workspace: Workspace, store: Store, path: str) -> None:
    """Remove a claimed leftover: local paths only inside the workspace, the warehouse or a
    configured file destination (where export staging lives)."""
    if "://" in path and not path.startswith("file://"):
        if path.startswith(store.root + "/"):
            store.remove(path.removeprefix(store.root + "/"))
        elif path.startswith("s3://") and _under_s3_destination(workspace, path):
            from jobs.warehouse.delivery import remove_unpublished_s3_export  # it imports runs

            remove_unpublished_s3_export(path)
        return
    try:
        remove(path, writable_roots(workspace))
    except OutsideWorkspaceError:
        logger.warning("not removing %s: outside the workspace", path)


@contextmanager
def open_run(
    workspace: Workspace, job: str, *, writes: bool = True, spark: Any = None
) -> Iterator[RunContext]:
    """Run a job: writer lock, recovery, ledger run, and one commit of its tables at the end.

    A run that raises removes what it claimed and commits nothing (after its commit: all
    but what the commit published); a killed one leaves its claims to the next writer. Jobs
    that only read (`writes=False`) take no lock.
    """
    ledger = Ledger(workspace.ledger_path)
    workflow_id = str(uuid.uuid4())
    with ExitStack() as stack:
        if writes:
            holder = {"job": job, "workflow_id": workflow_id, "started_at": utc_now()}
            lock = workspace.ledger_path.with_name(f".{workspace.ledger_path.name}.lock")
            wait = workspace.config.commits.writer_wait_seconds
            stack.enter_context(writer_lock(lock, wait_seconds=wait, holder=holder))
            recover_abandoned_runs(workspace, ledger, spark)
        stack.enter_context(live_mark(_runs_folder(workspace), workflow_id))
        events = RunEvents(workspace, job, workflow_id)
        with record_run(ledger, job, workflow_id=workflow_id) as run:
            events.start()
            if writes:
                run.commit = PendingCommit(
                    workspace.warehouse, workflow_id=workflow_id, job=job, spark=spark
                )
            run.upstream = list(_upstream.get())
            token = _current_run.set(run)
            try:
                yield run
                _wait_for_upstream(run)
                fault_point("commit")
                if run.commit is not None:
                    run.commit.publish()
                run.succeeded = True
                fault_point("committed")
                for action in run.after_commit:
                    try:
                        action()
                    except Exception as error:  # the commit stands; say what was left undone
                        failure = describe_failure(error)
                        logger.warning("%s committed, then: %s", job, failure)
                        run.counts.setdefault("after_commit_failures", []).append(failure)
            except BaseException as error:
                # Interrupted after its commit (Ctrl-C in the after-commit work): the
                # versions it published are the current ones and stay.
                store = Store(workspace.warehouse, spark)
                live = live_folders(workspace, store, spark) if run.succeeded else set()
                remove_leftovers(
                    workspace, store, ledger, workflow_id, live, committed=run.succeeded
                )
                inputs, _ = run.lineage()
                events.fail(inputs, describe_failure(error))
                raise
            else:
                inputs, outputs = run.lineage()
                events.complete(inputs, outputs)
            finally:
                _current_run.reset(token)
                ledger.release_paths(workflow_id)
                run.finished.set()


def _wait_for_upstream(run: RunContext) -> None:
    for upstream in run.upstream:
        upstream.finished.wait()
        if not upstream.succeeded:
            raise RuntimeError(f"{upstream.job} failed, so {run.job} commits nothing")


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


@contextmanager
def timed(seconds: dict[str, float], phase: str) -> Iterator[None]:
    """Add the wall time of a block to `seconds[phase]` (a job's time split)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[phase] = round(seconds.get(phase, 0.0) + time.perf_counter() - started, 2)
